package authz_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/authz"
	"github.com/vigilhq/vigil/schema"
)

var update = flag.Bool("update", false, "rewrite docs/permissions.md from the matrix")

// The roles of the matrix are the membership roles of the schema, in order.
func TestRolesMatchMembershipRoles(t *testing.T) {
	t.Parallel()
	if !slices.Equal(authz.Roles, schema.Roles) {
		t.Fatalf("authz.Roles = %v, schema.Roles = %v", authz.Roles, schema.Roles)
	}
}

func TestMatrixIsWellFormed(t *testing.T) {
	t.Parallel()
	seen := map[authz.Permission]bool{}
	for _, r := range authz.Matrix {
		p := r.Permission
		if seen[p] {
			t.Errorf("%s appears twice", p)
		}
		seen[p] = true
		if p.Resource == "" || p.Action == "" || strings.ContainsAny(p.Resource+p.Action, ":, *") {
			t.Errorf("malformed permission %q", p)
		}
		if !slices.Contains(r.Roles, authz.Owner) {
			t.Errorf("OWNER lacks %s", p)
		}
		last := -1
		for _, role := range r.Roles {
			i := slices.Index(authz.Roles, role)
			if i < 0 {
				t.Errorf("%s names unknown role %q", p, role)
			}
			if i <= last {
				t.Errorf("%s lists %q out of order or twice", p, role)
			}
			last = i
		}
	}
}

func TestRolePermissions(t *testing.T) {
	t.Parallel()
	if got, want := len(authz.RolePermissions(authz.Owner)), len(authz.Matrix); got != want {
		t.Errorf("OWNER holds %d permissions, want all %d", got, want)
	}
	if got := authz.RolePermissions(authz.Admin); len(got) != len(authz.Matrix)-1 || slices.Contains(got, authz.BillingManage) {
		t.Errorf("ADMIN holds %v, want everything but billing:manage", got)
	}
	want := []authz.Permission{authz.EventWrite, authz.AlertSubscribe}
	if got := authz.RolePermissions(authz.Partner); !slices.Equal(got, want) {
		t.Errorf("PARTNER holds %v, want %v", got, want)
	}
	if got := authz.RolePermissions("SUPERADMIN"); got != nil {
		t.Errorf("unknown role holds %v", got)
	}
}

// docs/permissions.md is the matrix as a table; -update rewrites it.
func TestPermissionsDocIsCurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "docs", "permissions.md")
	want := renderPermissionsDoc()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run `go test ./internal/authz -run PermissionsDoc -update`", err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale; run `go test ./internal/authz -run PermissionsDoc -update`", path)
	}
}

func renderPermissionsDoc() string {
	var b strings.Builder
	b.WriteString("# Permissions\n\n")
	b.WriteString("<!-- Generated from internal/authz/matrix.go; do not edit. -->\n\n")
	b.WriteString("What each membership role may do in a tenant by default. This table is rendered from\n" +
		"`authz.Matrix` (`internal/authz/matrix.go`) by `go test ./internal/authz -run PermissionsDoc -update`,\n" +
		"and `TestPermissionsDocIsCurrent` fails when it is stale. The same matrix seeds the policy table\n" +
		"(`casbin_rules`) of a new database; a tenant may later be granted more than these defaults.\n\n")
	b.WriteString("| permission |")
	for _, r := range authz.Roles {
		b.WriteString(" " + r + " |")
	}
	b.WriteString("\n|---|")
	for range authz.Roles {
		b.WriteString(":-:|")
	}
	b.WriteString("\n")
	for _, row := range authz.Matrix {
		b.WriteString("| `" + row.Permission.String() + "` |")
		for _, r := range authz.Roles {
			if slices.Contains(row.Roles, r) {
				b.WriteString(" ✓ |")
			} else {
				b.WriteString("   |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
