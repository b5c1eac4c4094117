package e2e_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// `vigil migrate up` is idempotent and `vigil migrate status` then lists
// River's and Vigil's migrations, every one applied.
func TestMigrateStatus(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, env map[string]string) {
		dataDir := t.TempDir()
		migrate := func(sub string) result {
			t.Helper()
			res := runVigil(t, env, "", "migrate", sub, "--data-dir", dataDir)
			if res.Code != 0 {
				t.Fatalf("vigil migrate %s failed\n%s", sub, res)
			}
			return res
		}
		upRE := regexp.MustCompile(`^(\d+) migration\(s\) applied on (sqlite|postgres)\n$`)
		if m := upRE.FindStringSubmatch(migrate("up").Stdout); m == nil {
			t.Errorf("vigil migrate up printed %q, want %q", migrate("up").Stdout, upRE)
		}
		if m := upRE.FindStringSubmatch(migrate("up").Stdout); m == nil || m[1] != "0" {
			t.Errorf("a second vigil migrate up did not apply 0 migrations: %q", m)
		}

		res := migrate("status")
		lines := strings.Split(strings.TrimRight(res.Stdout, "\n"), "\n")
		if len(lines) < 4 || !strings.HasPrefix(lines[0], "database: ") || !strings.HasPrefix(lines[1], "COMPONENT") {
			t.Fatalf("vigil migrate status: unexpected output\n%s", res)
		}
		if last := lines[len(lines)-1]; last != "0 pending" {
			t.Errorf("vigil migrate status ends with %q, want %q", last, "0 pending")
		}
		components := map[string]int{}
		// Columns are padded with two or more spaces; names have single ones.
		columns := regexp.MustCompile(`\s{2,}`)
		if header := columns.Split(lines[1], -1); !slices.Equal(header, []string{"COMPONENT", "VERSION", "NAME", "STATE", "APPLIED AT"}) {
			t.Fatalf("vigil migrate status: header columns %q", header)
		}
		for _, line := range lines[2 : len(lines)-1] {
			f := columns.Split(strings.TrimSpace(line), -1)
			if len(f) < 4 {
				t.Errorf("vigil migrate status: short line %q", line)
				continue
			}
			components[f[0]]++
			if f[3] != "applied" {
				t.Errorf("vigil migrate status: state %q, want applied: %q", f[3], line)
			}
		}
		if components["river"] == 0 || components["vigil"] == 0 || len(components) != 2 {
			t.Errorf("vigil migrate status lists components %v, want river and vigil\n%s", components, res.Stdout)
		}
	})
}

// The administration commands create tenants and users, print what an
// operator needs, and refuse mistakes with a message and a non-zero exit.
func TestCLIAdmin(t *testing.T) {
	t.Parallel()

	t.Run("help and version", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{[]string{"--help"}, []string{"USAGE:", "serve", "migrate", "tenant", "user", "version"}},
			{[]string{"serve", "--help"}, []string{"USAGE:", "--listen", "--data-dir", "VIGIL_DATABASE_URL"}},
			{[]string{"migrate", "--help"}, []string{"USAGE:", "up", "status"}},
			{[]string{"version"}, []string{"vigil "}},
		} {
			res := runVigil(t, nil, "", tc.args...)
			if res.Code != 0 {
				t.Errorf("vigil %s failed\n%s", strings.Join(tc.args, " "), res)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Stdout, w) {
					t.Errorf("vigil %s: stdout lacks %q\n%s", strings.Join(tc.args, " "), w, res)
				}
			}
		}
	})

	eachDB(t, func(t *testing.T, env map[string]string) {
		dataDir := t.TempDir()
		vigil := func(stdin string, args ...string) result {
			t.Helper()
			return runVigil(t, env, stdin, append(args, "--data-dir", dataDir)...)
		}
		ok := func(res result, what string) result {
			t.Helper()
			if res.Code != 0 {
				t.Fatalf("%s failed\n%s", what, res)
			}
			return res
		}

		res := ok(vigil("", "tenant", "create", "--name", "Acme Corp"), "tenant create")
		if !regexp.MustCompile(`^created tenant tnt_[0-9A-Z]{26} \(slug acme-corp\)\n$`).MatchString(res.Stdout) {
			t.Errorf("tenant create printed %q", res.Stdout)
		}

		res = ok(vigil("", "user", "create", "--email", "admin@example.com", "--superadmin"), "user create --superadmin")
		if !regexp.MustCompile(`(?m)^created user usr_[0-9A-Z]{26} \(admin@example\.com\), platform super-admin$`).MatchString(res.Stdout) {
			t.Errorf("user create --superadmin printed %q", res.Stdout)
		}
		if m := regexp.MustCompile(`(?m)^password \(shown once[^)]*\): (\S{12,})$`).FindStringSubmatch(res.Stdout); m == nil {
			t.Errorf("user create --superadmin printed no one-time password: %q", res.Stdout)
		}

		res = ok(vigil("a long enough password\n", "user", "create", "--email", "ana@example.com",
			"--tenant", "acme-corp", "--role", "ANALYST", "--password-stdin"), "user create --tenant --password-stdin")
		if !regexp.MustCompile(`^created user usr_[0-9A-Z]{26} \(ana@example\.com\), ANALYST of acme-corp\n$`).MatchString(res.Stdout) {
			t.Errorf("user create --tenant acme-corp --role ANALYST printed %q", res.Stdout)
		}

		res = vigil("", "tenant", "create", "--name", "Acme Corp")
		if res.Code == 0 || !strings.Contains(res.Stderr, `"acme-corp" exists already`) {
			t.Errorf("a second tenant named Acme Corp: want a non-zero exit saying the slug exists\n%s", res)
		}

		res = vigil("short\n", "user", "create", "--email", "x@example.com", "--password-stdin")
		if res.Code == 0 || !strings.Contains(res.Stderr, "at least 12 characters") {
			t.Errorf("a short password: want a non-zero exit naming the length rule\n%s", res)
		}
		if strings.Contains(res.Stdout, "created user") {
			t.Errorf("a short password created a user\n%s", res)
		}
	})
}
