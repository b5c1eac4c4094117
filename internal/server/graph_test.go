package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/membership"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/internal/tenancy"
)

// headerCaller stands in for real authentication (a later issue): the test
// names the tenant to act for, or "system".
func headerCaller(r *http.Request) (*caller.Caller, error) {
	switch v := r.Header.Get("X-Test-Tenant"); v {
	case "":
		return nil, nil
	case "system":
		return caller.System("test"), nil
	default:
		return &caller.Caller{Kind: caller.KindUser, TenantID: pulid.ID(v), UserID: pulid.ID(r.Header.Get("X-Test-User")), Role: "ANALYST"}, nil
	}
}

func (b *testBundle) as(t *testing.T, tenant, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, b.url+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Tenant", tenant)
	return b.do(t, req)
}

type world struct {
	a, b  *ent.Tenant
	memA  *ent.Membership
	memB  *ent.Membership
	userA *ent.User
	userB *ent.User
}

func seed(t *testing.T, db *database.DB) world {
	t.Helper()
	ctx := caller.With(context.Background(), caller.System("seed"))
	var w world
	var err error
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	w.a, err = tenancy.CreateTenant(ctx, db.Ent, "Alpha", "")
	must(err)
	w.b, err = tenancy.CreateTenant(ctx, db.Ent, "Bravo", "")
	must(err)
	w.userA, err = db.Ent.User.Create().SetEmail("a@example.com").Save(ctx)
	must(err)
	w.userB, err = db.Ent.User.Create().SetEmail("b@example.com").Save(ctx)
	must(err)
	w.memA, err = tenancy.AddMember(ctx, db.Ent, w.a.ID, w.userA.ID, membership.RoleANALYST)
	must(err)
	w.memB, err = tenancy.AddMember(ctx, db.Ent, w.b.ID, w.userB.ID, membership.RoleOWNER)
	must(err)
	return w
}

var idPattern = regexp.MustCompile(`^(tnt|usr|mem)_[0-9A-HJKMNP-TV-Z]{26}$`)

// Another tenant's id answers exactly like an id that does not exist, on both
// databases, through node, nodes and connections.
func TestTenantIsolationThroughNodeAndConnections(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, setupOpts{db: db, auth: headerCaller})
		w := seed(t, db)
		a := string(w.a.ID)

		r := b.as(t, a, "{ tenants { totalCount edges { node { id name memberships { totalCount } } } } }", nil)
		if len(r.Errors) != 0 || strings.Contains(string(r.Data), string(w.b.ID)) || !strings.Contains(string(r.Data), a) || !strings.Contains(string(r.Data), `"totalCount":1`) {
			t.Fatalf("tenant A's view of tenants: %s", r.rawBody)
		}

		missing := map[string]string{
			"Tenant":     string(pulid.New("tnt")),
			"Membership": string(pulid.New("mem")),
		}
		foreign := map[string]string{"Tenant": string(w.b.ID), "Membership": string(w.memB.ID)}
		for typ, id := range foreign {
			got := b.as(t, a, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
			want := b.as(t, a, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": missing[typ]})
			norm := func(r *gqlResponse) string {
				return strings.ReplaceAll(strings.ReplaceAll(r.rawBody, id, "ID"), missing[typ], "ID")
			}
			if got.code() != "NOT_FOUND" || norm(got) != norm(want) {
				t.Fatalf("%s of another tenant answered\n  %s\nbut a missing one\n  %s", typ, got.rawBody, want.rawBody)
			}
		}
		r = b.as(t, a, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{string(w.memA.ID), string(w.memB.ID)}})
		if strings.Contains(string(r.Data), string(w.memB.ID)) || !strings.Contains(string(r.Data), string(w.memA.ID)) || r.code() != "NOT_FOUND" {
			t.Fatalf("nodes leaked or lost: %s", r.rawBody)
		}
		// Own data is reachable, and ids are opaque prefixed ULIDs.
		r = b.as(t, a, `query($id: ID!) { node(id: $id) { id ... on Membership { role user { id email } } } }`, map[string]any{"id": string(w.memA.ID)})
		if len(r.Errors) != 0 || !strings.Contains(r.rawBody, "a@example.com") {
			t.Fatalf("own membership: %s", r.rawBody)
		}
		for _, id := range []pulid.ID{w.a.ID, w.userA.ID, w.memA.ID} {
			if !idPattern.MatchString(string(id)) {
				t.Fatalf("id %q is not an opaque prefixed ULID", id)
			}
		}
		// Anonymous callers get nothing.
		if r := b.as(t, "", "{ tenants { totalCount } }", nil); r.code() != "UNAUTHENTICATED" {
			t.Fatalf("anonymous tenants: %s", r.rawBody)
		}
	})
}

// Connections default to a page when no first/last is given and never return
// more than the maximum page size.
func TestConnectionsArePaged(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, setupOpts{db: db, auth: headerCaller})
		ctx := caller.With(context.Background(), caller.System("seed"))
		builders := make([]*ent.TenantCreate, 120)
		for i := range builders {
			builders[i] = db.Ent.Tenant.Create().SetName(fmt.Sprintf("T%03d", i)).SetSlug(fmt.Sprintf("t%03d", i))
		}
		if _, err := db.Ent.Tenant.CreateBulk(builders...).Save(ctx); err != nil {
			t.Fatal(err)
		}
		type page struct {
			Tenants struct {
				TotalCount int
				Edges      []struct{ Cursor string }
				PageInfo   struct{ HasNextPage bool }
			}
		}
		var p page
		r := b.as(t, "system", "{ tenants { totalCount edges { cursor } pageInfo { hasNextPage } } }", nil)
		if err := json.Unmarshal(r.Data, &p); err != nil || len(r.Errors) != 0 {
			t.Fatalf("%v %s", err, r.rawBody)
		}
		if p.Tenants.TotalCount != 120 || len(p.Tenants.Edges) != 50 || !p.Tenants.PageInfo.HasNextPage {
			t.Fatalf("default page: total %d, %d edges, next %v; want 120, 50, true", p.Tenants.TotalCount, len(p.Tenants.Edges), p.Tenants.PageInfo.HasNextPage)
		}
		r = b.as(t, "system", `query($after: Cursor) { tenants(first: 100, after: $after) { edges { cursor } pageInfo { hasNextPage } } }`,
			map[string]any{"after": p.Tenants.Edges[49].Cursor})
		p = page{}
		if err := json.Unmarshal(r.Data, &p); err != nil || len(p.Tenants.Edges) != 70 || p.Tenants.PageInfo.HasNextPage {
			t.Fatalf("second page: %v %d edges %s", err, len(p.Tenants.Edges), r.rawBody)
		}
	})
}
