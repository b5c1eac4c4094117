package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/dbtest"
)

// `vigil rules import DIR` loads a directory of Sigma rules into a tenant,
// printing every rule's result and naming the ones that cannot load; a second
// import updates instead of duplicating.
func TestRulesImport(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, env map[string]string) {
		dataDir := t.TempDir()
		vigil := func(args ...string) result {
			t.Helper()
			return runVigil(t, env, "", append(args, "--data-dir", dataDir)...)
		}
		if res := vigil("tenant", "create", "--name", "Acme", "--slug", "acme"); res.Code != 0 {
			t.Fatal(res)
		}
		dir := t.TempDir()
		src := dbtest.SharedData(t, "sigma", "rules", "linux")
		n := 0
		err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") || n >= 40 {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n++
			return os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o600)
		})
		if err != nil {
			t.Fatal(err)
		}
		broken := "title: Broken\nlogsource: {product: linux}\ndetection:\n  sel: {CommandLine|nosuchmodifier: x}\n  condition: sel\n"
		if err := os.WriteFile(filepath.Join(dir, "zz-broken.yml"), []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}

		res := vigil("rules", "import", "--tenant", "acme", dir)
		if res.Code != 0 {
			t.Fatal(res)
		}
		if !regexp.MustCompile(`FAIL\s+\S*zz-broken\.yml: .*nosuchmodifier`).MatchString(res.Stdout) {
			t.Errorf("the broken rule is not named with its reason:\n%s", res.Stdout)
		}
		if got := strings.Count(res.Stdout, "\nnew ") + boolInt(strings.HasPrefix(res.Stdout, "new ")); got != n {
			t.Errorf("%d rules reported new, want %d:\n%s", got, n, res.Stdout)
		}
		if !strings.Contains(res.Stdout, strconv.Itoa(n)+" of "+strconv.Itoa(n+1)+" rules loaded") {
			t.Errorf("summary line missing:\n%s", res.Stdout)
		}
		again := vigil("rules", "import", "--tenant", "acme", dir)
		if again.Code != 0 || !strings.Contains(again.Stdout, "0 new, "+strconv.Itoa(n)+" updated") {
			t.Errorf("a second import must update, not duplicate:\n%s", again)
		}
		if bad := vigil("rules", "import", "--tenant", "nosuch", dir); bad.Code == 0 || !strings.Contains(bad.Stderr, "nosuch") {
			t.Errorf("an unknown tenant must fail naming it:\n%s", bad)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
