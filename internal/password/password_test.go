package password

import (
	"strings"
	"testing"
)

var cheap = Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h, err := Hash("correct horse battery staple", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	if ok, rehash, err := Verify("correct horse battery staple", h, cheap); !ok || rehash || err != nil {
		t.Fatalf("Verify(right) = %v, %v, %v", ok, rehash, err)
	}
	if ok, _, _ := Verify("correct horse battery stapl3", h, cheap); ok {
		t.Fatal("wrong password verified")
	}
	if _, rehash, _ := Verify("correct horse battery staple", h, Default); !rehash {
		t.Fatal("hash with old parameters not flagged for rehash")
	}
	h2, _ := Hash("correct horse battery staple", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=18$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=x$AAAA$AAAA", "$argon2id$v=19$m=1,t=1,p=1$!!$AAAA"} {
		if _, _, err := Verify("whatever password", h, cheap); err == nil {
			t.Errorf("Verify accepted malformed hash %q", h)
		}
	}
}

func TestCheckLength(t *testing.T) {
	t.Parallel()
	if Check("short") != ErrTooShort || Check(strings.Repeat("x", 129)) != ErrTooLong || Check("twelve chars") != nil {
		t.Fatal("length bounds wrong")
	}
	if Check(strings.Repeat("é", 12)) != nil {
		t.Fatal("length must count characters, not bytes")
	}
}
