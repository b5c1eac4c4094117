package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/alert"
	"github.com/vigilhq/vigil/ent/rule"
	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/authz"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/pulid"
)

// The isolation matrix (the identity issue's proof): every query, mutation
// and Node type is discovered from the schema by introspection, so an
// operation added later is probed without editing this file, and called
//
//	(a) by another tenant's OWNER with this tenant's ids, and
//	(b) by each role of this tenant (and an API key) that lacks the
//	    permission the operation needs,
//
// on SQLite and PostgreSQL. Nothing of the victim tenant may leak, an id of
// the victim must answer exactly like an id that does not exist, and the
// victim's state must be unchanged afterwards.

// isolationPublic are the operations anyone may call by design. They are still
// called by the attacker and checked for leaks, but need no permission.
var isolationPublic = map[string]bool{
	"signUp":         true,
	"login":          true,
	"refreshSession": true,
	"server":         true,
}

// isolationSelfService marks an operation every signed-in user may call on
// their own things (sessions): no role permission, but never on another
// user's objects.
var isolationSelfService = authz.Permission{}

// isolationMutationPermissions maps every non-public mutation to the authz
// permission it requires. A mutation missing here fails the test: add it, so
// that the roles lacking the permission are checked to be refused.
var isolationMutationPermissions = map[string]authz.Permission{
	"addMember":       authz.MemberAdd,
	"assignRole":      authz.MemberAssignRole,
	"removeMember":    authz.MemberRemove,
	"createAPIKey":    authz.APIKeyCreate,
	"revokeAPIKey":    authz.APIKeyRevoke,
	"logout":          isolationSelfService,
	"revokeSession":   isolationSelfService,
	"changePassword":  isolationSelfService,
	"ingestEvents":    authz.EventWrite,
	"createRule":      authz.RuleManage,
	"updateRule":      authz.RuleManage,
	"updateAlert":     authz.AlertTriage,
	"addAlertComment": authz.AlertTriage,
}

// isolationQueryPermissions maps every non-public query to the permission
// it requires; node and nodes are checked per Node type instead
// (isolationNodePermissions). A query missing here fails the test.
var isolationQueryPermissions = map[string]authz.Permission{
	"viewer":   isolationSelfService,
	"sessions": isolationSelfService,
	"apiKeys":  authz.APIKeyRead,
	"tenants":  authz.TenantRead,
	"alerts":   authz.AlertRead,
	"rules":    authz.RuleRead,
}

// isolationNodeQueries read any Node by id: their permission is that of the
// type of the object named (isolationNodePermissions).
var isolationNodeQueries = map[string]bool{"node": true, "nodes": true}

// isolationNodePermissions maps every Node type to the permission needed to
// read one of the tenant's objects of that type (a user's own objects are
// always theirs to read). A Node type missing here fails the test.
var isolationNodePermissions = map[string]authz.Permission{
	"Tenant":       authz.TenantRead,
	"User":         authz.MemberRead,
	"Membership":   authz.MemberRead,
	"APIKey":       authz.APIKeyRead,
	"Session":      isolationSelfService,
	"Alert":        authz.AlertRead,
	"AlertComment": authz.AlertRead,
	"Rule":         authz.RuleRead,
}

// The error codes a refused cross-tenant call may carry.
var isolationRefusalCodes = []string{"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}

func TestIsolationMatrix(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		start := time.Now()
		b := setup(t, setupOpts{identity: true, db: db, dev: true}) // dev: introspection on
		w := newIsoWorld(t, b)
		s := introspectIsolation(t, w)
		before := w.snapshot(t)

		t.Run("tables", func(t *testing.T) {
			w.checkNodeTypesCovered(t, s)
			w.checkPermissionTable(t, s)
		})
		t.Run("positive_controls", func(t *testing.T) { w.positiveControls(t, s) })
		t.Run("other_tenant", func(t *testing.T) { w.crossTenant(t, s) })
		t.Run("roles_mutations", func(t *testing.T) { w.roleWrites(t, s) })
		t.Run("roles_queries", func(t *testing.T) { w.roleReads(t, s) })
		t.Run("unchanged", func(t *testing.T) {
			if after := w.snapshot(t); after != before {
				t.Errorf("tenant A changed during the matrix:\nbefore %s\nafter  %s", before, after)
			}
		})
		t.Logf("isolation matrix on %s: %d queries, %d mutations, %d node types (%s), %d victim ids, %d calls, %d logins, %s",
			db.Name(), len(s.query), len(s.mutation), len(s.nodeTypes), strings.Join(s.nodeTypes, ", "),
			len(w.ids), w.calls.Load(), w.logins, time.Since(start).Round(time.Millisecond))
	})
}

// ---- the world ----

const isoPassword = "a long enough password"

type isoCaller struct {
	label string // for messages
	role  string
	token string
	email string
	user  string          // user id; empty for the API key
	own   map[string]bool // ids that are the caller's own (its user, sessions, membership)
	key   bool            // an API key, not a user
}

type isoWorld struct {
	b        *testBundle
	ownerA   *isoCaller
	attacker *isoCaller
	callers  []*isoCaller // A's roles, OWNER first, then the API key
	ids      []string     // every id of tenant A (and of A's users)
	typeOf   map[string]string
	secrets  []string // values of A that must never reach the attacker
	tenantA  string
	calls    atomic.Int64
	logins   int
}

func newIsoWorld(t *testing.T, b *testBundle) *isoWorld {
	t.Helper()
	w := &isoWorld{b: b, typeOf: map[string]string{}}
	owner := b.signUp(t, "victim-owner@victimcorp.example", "Victimcorp Alpha")
	w.tenantA = owner.TenantID
	w.ownerA = &isoCaller{label: "A/OWNER", role: authz.Owner, token: owner.AccessToken, email: owner.Email, user: owner.UserID, own: map[string]bool{}}
	att := b.signUp(t, "attacker-owner@bravo.example", "Bravo Attacker")
	w.attacker = &isoCaller{label: "B/OWNER (attacker)", role: authz.Owner, token: att.AccessToken, email: att.Email, user: att.UserID, own: map[string]bool{}}
	w.addID(w.tenantA, "Tenant")
	w.addID(owner.UserID, "User")
	w.secrets = append(w.secrets, "Victimcorp Alpha", owner.Email)
	w.callers = append(w.callers, w.ownerA)

	for _, role := range []string{authz.Admin, authz.Analyst, authz.Viewer, authz.Auditor, authz.Partner} {
		email := "victim-" + strings.ToLower(role) + "@victimcorp.example"
		u := b.signUp(t, email, "Victim "+role+" Sandbox") // their own throwaway tenant
		r := w.send(t, w.ownerA.token, `mutation($i: AddMemberInput!) { addMember(input: $i) { id role } }`,
			map[string]any{"i": map[string]any{"email": email, "role": role}})
		if len(r.Errors) != 0 {
			t.Fatalf("addMember %s as %s: %s", email, role, r.rawBody)
		}
		acc := b.login(t, email, w.tenantA)
		w.logins++
		if acc.TenantID != w.tenantA {
			t.Fatalf("login of %s landed in %s, want %s", email, acc.TenantID, w.tenantA)
		}
		w.addID(u.UserID, "User")
		w.secrets = append(w.secrets, email, "Victim "+role+" Sandbox")
		w.callers = append(w.callers, &isoCaller{label: "A/" + role, role: role, token: acc.AccessToken, email: email, user: u.UserID, own: map[string]bool{}})
	}

	r := w.send(t, w.ownerA.token, `mutation($i: CreateAPIKeyInput!) { createAPIKey(input: $i) { secret apiKey { id role } } }`,
		map[string]any{"i": map[string]any{"name": "victimcorp-partner-feed", "scopes": []string{"alerts:subscribe"}}})
	var key struct {
		CreateAPIKey struct {
			Secret string
			APIKey struct{ ID, Role string }
		}
	}
	if err := json.Unmarshal(r.Data, &key); err != nil || len(r.Errors) != 0 || key.CreateAPIKey.APIKey.Role != authz.Partner {
		t.Fatalf("createAPIKey: %v %s", err, r.rawBody)
	}
	w.addID(key.CreateAPIKey.APIKey.ID, "APIKey")
	w.secrets = append(w.secrets, "victimcorp-partner-feed", key.CreateAPIKey.Secret)
	w.callers = append(w.callers, &isoCaller{label: "A/API key (PARTNER, alerts:subscribe)", role: authz.Partner, token: key.CreateAPIKey.Secret, own: map[string]bool{}, key: true})

	// Memberships (and the slug) as A's owner.
	r = w.send(t, w.ownerA.token, `{ tenants(first: 1) { edges { node { id slug memberships(first: 20) { edges { node { id user { id } } } } } } } }`, nil)
	var ten struct {
		Tenants struct {
			Edges []struct {
				Node struct {
					ID, Slug    string
					Memberships struct {
						Edges []struct {
							Node struct {
								ID   string
								User struct{ ID string }
							}
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(r.Data, &ten); err != nil || len(r.Errors) != 0 || len(ten.Tenants.Edges) != 1 {
		t.Fatalf("A's tenants: %v %s", err, r.rawBody)
	}
	w.secrets = append(w.secrets, ten.Tenants.Edges[0].Node.Slug)
	memberOf := map[string]string{}
	for _, e := range ten.Tenants.Edges[0].Node.Memberships.Edges {
		w.addID(e.Node.ID, "Membership")
		memberOf[e.Node.User.ID] = e.Node.ID
	}
	if len(memberOf) != 6 {
		t.Fatalf("A has %d memberships, want 6: %s", len(memberOf), r.rawBody)
	}
	// An alert with a comment, and a rule of A's default pack.
	actx := caller.With(context.Background(), caller.ForTenant("iso", pulid.ID(w.tenantA)))
	var alertID pulid.ID
	err := b.db.WithTx(actx, func(tx *ent.Tx) error {
		a, _, err := b.pipeline.Alerts.Raise(actx, tx, alerting.Detection{
			Title: "Victimcorp secret alert", Severity: alert.SeverityHIGH, DedupKey: "iso", First: time.Now(), Last: time.Now(), Count: 1,
		})
		if a != nil {
			alertID = a.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := b.pipeline.Alerts.Comment(actx, alertID, "Victimcorp secret comment")
	if err != nil {
		t.Fatal(err)
	}
	w.addID(string(alertID), "Alert")
	w.addID(string(cm.ID), "AlertComment")
	w.secrets = append(w.secrets, "Victimcorp secret alert", "Victimcorp secret comment")
	rl, err := b.db.Ent.Rule.Query().Where(rule.TenantID(pulid.ID(w.tenantA))).First(actx)
	if err != nil {
		t.Fatal(err)
	}
	w.addID(string(rl.ID), "Rule")

	// Sessions, as each of A's users (a session is only visible to its user).
	for _, c := range w.callers {
		if c.key {
			continue
		}
		c.own[c.user] = true
		c.own[memberOf[c.user]] = true
		for _, id := range w.sessionIDs(t, c) {
			w.addID(id, "Session")
			c.own[id] = true
		}
	}
	return w
}

func (w *isoWorld) addID(id, typ string) {
	if id == "" || w.typeOf[id] != "" {
		return
	}
	w.ids = append(w.ids, id)
	w.typeOf[id] = typ
}

func (w *isoWorld) sessionIDs(t *testing.T, c *isoCaller) []string {
	t.Helper()
	r := w.send(t, c.token, `{ sessions { id } }`, nil)
	var d struct{ Sessions []struct{ ID string } }
	if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) != 0 || len(d.Sessions) == 0 {
		t.Fatalf("sessions of %s: %v %s", c.label, err, r.rawBody)
	}
	var out []string
	for _, s := range d.Sessions {
		out = append(out, s.ID)
	}
	return out
}

// snapshot is A's state that no call of the matrix may change: the tenant,
// its memberships and roles, its API keys, and every session of A's users.
func (w *isoWorld) snapshot(t *testing.T) string {
	t.Helper()
	r := w.send(t, w.ownerA.token, `{
		tenants(first: 1) { edges { node { id name slug memberships(first: 20) { edges { node { id role user { id email disabled } } } } } } }
		apiKeys(first: 20) { totalCount edges { node { id name role scopes expiresAt revokedAt } } }
	}`, nil)
	if len(r.Errors) != 0 {
		t.Fatalf("snapshot of A as its owner: %s", r.rawBody)
	}
	var sb strings.Builder
	sb.Write(r.Data)
	for _, c := range w.callers {
		if c.key {
			continue
		}
		r := w.send(t, c.token, `{ viewer { role } sessions { id revokedAt revokeReason } }`, nil)
		if len(r.Errors) != 0 {
			t.Fatalf("snapshot: sessions of %s: %s", c.label, r.rawBody)
		}
		fmt.Fprintf(&sb, "\n%s: %s", c.label, r.Data)
	}
	return sb.String()
}

// send posts a GraphQL request with a bearer token, counting it.
func (w *isoWorld) send(t *testing.T, token, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	raw, err := json.Marshal(vars)
	if err != nil {
		t.Fatal(err)
	}
	return w.sendRaw(t, token, query, raw)
}

func (w *isoWorld) sendRaw(t *testing.T, token, query string, vars json.RawMessage) *gqlResponse {
	t.Helper()
	w.calls.Add(1)
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, w.b.url+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return w.b.do(t, req)
}

// ---- the schema, by introspection ----

type isoTypeRef struct {
	Kind   string      `json:"kind"`
	Name   string      `json:"name"`
	OfType *isoTypeRef `json:"ofType"`
}

func (r isoTypeRef) named() isoTypeRef {
	for r.OfType != nil && (r.Kind == "NON_NULL" || r.Kind == "LIST") {
		r = *r.OfType
	}
	return r
}

func (r isoTypeRef) String() string {
	switch r.Kind {
	case "NON_NULL":
		return r.OfType.String() + "!"
	case "LIST":
		return "[" + r.OfType.String() + "]"
	}
	return r.Name
}

type isoInputValue struct {
	Name         string     `json:"name"`
	Type         isoTypeRef `json:"type"`
	DefaultValue *string    `json:"defaultValue"`
}

func (v isoInputValue) required() bool { return v.Type.Kind == "NON_NULL" && v.DefaultValue == nil }

type isoField struct {
	Name string          `json:"name"`
	Args []isoInputValue `json:"args"`
	Type isoTypeRef      `json:"type"`
}

type isoNamed struct {
	Name string `json:"name"`
}

type isoType struct {
	Kind          string          `json:"kind"`
	Name          string          `json:"name"`
	Fields        []isoField      `json:"fields"`
	InputFields   []isoInputValue `json:"inputFields"`
	EnumValues    []isoNamed      `json:"enumValues"`
	PossibleTypes []isoNamed      `json:"possibleTypes"`
}

type isoSchema struct {
	types     map[string]*isoType
	query     []isoField
	mutation  []isoField
	nodeTypes []string
}

const isoIntrospection = `
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
query {
  __schema {
    queryType { name }
    mutationType { name }
    types {
      kind name
      possibleTypes { name }
      enumValues(includeDeprecated: true) { name }
      inputFields { name defaultValue type { ...TypeRef } }
      fields(includeDeprecated: true) { name args { name defaultValue type { ...TypeRef } } type { ...TypeRef } }
    }
  }
}`

func introspectIsolation(t *testing.T, w *isoWorld) *isoSchema {
	t.Helper()
	r := w.send(t, w.attacker.token, isoIntrospection, nil)
	var d struct {
		Schema struct {
			QueryType, MutationType *isoNamed
			Types                   []*isoType
		} `json:"__schema"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) != 0 || d.Schema.QueryType == nil {
		t.Fatalf("introspection (dev mode): %v %s", err, r.rawBody)
	}
	s := &isoSchema{types: map[string]*isoType{}}
	for _, ty := range d.Schema.Types {
		s.types[ty.Name] = ty
	}
	s.query = s.types[d.Schema.QueryType.Name].Fields
	if d.Schema.MutationType != nil {
		s.mutation = s.types[d.Schema.MutationType.Name].Fields
	}
	node := s.types["Node"]
	if node == nil || node.Kind != "INTERFACE" {
		t.Fatal("the schema has no Node interface")
	}
	for _, p := range node.PossibleTypes {
		s.nodeTypes = append(s.nodeTypes, p.Name)
	}
	sort.Strings(s.nodeTypes)
	if len(s.query) == 0 || len(s.mutation) == 0 || len(s.nodeTypes) == 0 {
		t.Fatalf("introspection found %d queries, %d mutations, %d node types", len(s.query), len(s.mutation), len(s.nodeTypes))
	}
	return s
}

// Every Node type needs a victim of its kind, or node(id) probes nothing.
func (w *isoWorld) checkNodeTypesCovered(t *testing.T, s *isoSchema) {
	t.Helper()
	have := map[string]bool{}
	for _, typ := range w.typeOf {
		have[typ] = true
	}
	for _, typ := range s.nodeTypes {
		if !have[typ] {
			t.Errorf("Node type %s has no object in tenant A: create one in newIsoWorld (and collect its id with addID) so the isolation matrix probes it", typ)
		}
	}
}

func (w *isoWorld) checkPermissionTable(t *testing.T, s *isoSchema) {
	t.Helper()
	names := map[string]bool{}
	for _, f := range s.mutation {
		names[f.Name] = true
		if isolationPublic[f.Name] {
			continue
		}
		p, ok := isolationMutationPermissions[f.Name]
		if !ok {
			t.Errorf("mutation %s is not in isolationMutationPermissions (internal/server/isolation_test.go): add it with the authz permission it requires (or isolationSelfService when every signed-in user may call it on their own objects), so the roles lacking it are checked to be refused", f.Name)
			continue
		}
		if p != isolationSelfService && !authz.Known(p) {
			t.Errorf("isolationMutationPermissions: %s maps to %s, which is not in authz.Matrix", f.Name, p)
		}
	}
	for name := range isolationMutationPermissions {
		if !names[name] {
			t.Errorf("isolationMutationPermissions names %s, which the schema no longer has", name)
		}
	}
	queries := map[string]bool{}
	for _, f := range s.query {
		queries[f.Name] = true
		if isolationPublic[f.Name] || isolationNodeQueries[f.Name] {
			continue
		}
		p, ok := isolationQueryPermissions[f.Name]
		if !ok {
			t.Errorf("query %s is not in isolationQueryPermissions (internal/server/isolation_test.go): add it with the authz permission it requires (or isolationSelfService when every signed-in user may read their own), so the roles lacking it are checked to see nothing", f.Name)
			continue
		}
		if p != isolationSelfService && !authz.Known(p) {
			t.Errorf("isolationQueryPermissions: %s maps to %s, which is not in authz.Matrix", f.Name, p)
		}
	}
	for name := range isolationQueryPermissions {
		if !queries[name] {
			t.Errorf("isolationQueryPermissions names %s, which the schema no longer has", name)
		}
	}
	for _, typ := range s.nodeTypes {
		p, ok := isolationNodePermissions[typ]
		if !ok {
			t.Errorf("Node type %s is not in isolationNodePermissions (internal/server/isolation_test.go): add it with the authz permission needed to read one", typ)
			continue
		}
		if p != isolationSelfService && !authz.Known(p) {
			t.Errorf("isolationNodePermissions: %s maps to %s, which is not in authz.Matrix", typ, p)
		}
	}
}

// ---- building requests ----

// isoCall is one generated request: an operation with its required
// arguments filled in.
type isoCall struct {
	kind  string // "query" or "mutation"
	field string
	query string
	vars  map[string]any
	ids   []string // victim ids in vars
	slots int      // how many ID arguments it has
}

func (c isoCall) firstID() string {
	if len(c.ids) == 0 {
		return ""
	}
	return c.ids[0]
}

func (c isoCall) String() string {
	v, _ := json.Marshal(c.vars)
	return fmt.Sprintf("%s\n    variables %s", c.query, v)
}

// calls builds the requests for field f: required arguments filled from
// their types; every ID argument tried with each candidate id (one argument
// varied at a time), a list of IDs with all candidates and with each alone.
func (s *isoSchema) calls(kind string, f isoField, cand func(hint string) []string) []isoCall {
	type slot struct {
		hint string
		list bool
	}
	var slots []slot
	record := func(hint string, list bool) any {
		slots = append(slots, slot{hint, list})
		return nil
	}
	s.args(f, record)
	options := func(sl slot) []any {
		ids := cand(sl.hint)
		var out []any
		if sl.list {
			out = append(out, slices.Clone(ids))
		}
		for _, id := range ids {
			if sl.list {
				out = append(out, []string{id})
			} else {
				out = append(out, id)
			}
		}
		return out
	}
	build := func(vary, choice int) isoCall {
		n := 0
		vars := s.args(f, func(hint string, list bool) any {
			defer func() { n++ }()
			opts := options(slots[n])
			if n == vary {
				return opts[choice]
			}
			return opts[0]
		})
		return s.call(kind, f, vars, len(slots))
	}
	if len(slots) == 0 {
		return []isoCall{s.call(kind, f, s.args(f, nil), 0)}
	}
	var out []isoCall
	for i, sl := range slots {
		opts := options(sl)
		if len(opts) == 0 {
			continue
		}
		for j := range opts {
			if i > 0 && j == 0 {
				continue // the base variant, built for slot 0 already
			}
			out = append(out, build(i, j))
		}
	}
	return out
}

// args fills f's required arguments; id supplies each ID (or [ID]) slot.
func (s *isoSchema) args(f isoField, id func(hint string, list bool) any) map[string]any {
	vars := map[string]any{}
	for _, a := range f.Args {
		if a.required() {
			vars[a.Name] = s.value(a.Type, a.Name, id)
		}
		if a.Name == "first" && a.Type.Name == "Int" {
			vars[a.Name] = 10 // small pages keep deep selections within the complexity limit
		}
	}
	return vars
}

func (s *isoSchema) value(ref isoTypeRef, hint string, id func(hint string, list bool) any) any {
	switch ref.Kind {
	case "NON_NULL":
		return s.value(*ref.OfType, hint, id)
	case "LIST":
		if in := ref.OfType.named(); in.Kind == "SCALAR" && in.Name == "ID" {
			if id == nil {
				return []string{}
			}
			return id(hint, true)
		}
		return []any{s.value(*ref.OfType, hint, id)}
	case "SCALAR":
		switch ref.Name {
		case "ID":
			if id == nil {
				return ""
			}
			return id(hint, false)
		case "String":
			if strings.Contains(strings.ToLower(hint), "email") {
				return "x@example.com"
			}
			return "probe"
		case "Int":
			return 1
		case "Float":
			return 1.5
		case "Boolean":
			return true
		case "Time":
			return time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
		case "Map":
			return map[string]any{"probe": true}
		}
		return "probe"
	case "ENUM":
		return s.types[ref.Name].EnumValues[0].Name
	case "INPUT_OBJECT":
		m := map[string]any{}
		for _, in := range s.types[ref.Name].InputFields {
			if in.required() {
				m[in.Name] = s.value(in.Type, in.Name, id)
			}
		}
		return m
	}
	return nil
}

func (s *isoSchema) call(kind string, f isoField, vars map[string]any, slots int) isoCall {
	var decl, pass []string
	for _, a := range f.Args {
		if _, ok := vars[a.Name]; ok {
			decl = append(decl, "$"+a.Name+": "+a.Type.String())
			pass = append(pass, a.Name+": $"+a.Name)
		}
	}
	q := kind
	if len(decl) > 0 {
		q += "(" + strings.Join(decl, ", ") + ")"
	}
	q += " { " + f.Name
	if len(pass) > 0 {
		q += "(" + strings.Join(pass, ", ") + ")"
	}
	if n := f.Type.named(); n.Kind != "SCALAR" && n.Kind != "ENUM" {
		q += " { " + s.selection(n.Name, 1) + " }"
	}
	q += " }"
	c := isoCall{kind: kind, field: f.Name, query: q, vars: vars, slots: slots}
	raw, _ := json.Marshal(vars)
	c.ids = isoIDPattern(string(raw))
	return c
}

// isoMaxDepth bounds how deep selections go (connections and edges do not
// count), to stay within the complexity limit.
const isoMaxDepth = 2

// selection selects every field without required arguments: scalars, and
// objects down to isoMaxDepth; interfaces and unions through a fragment per
// type, aliasing fields whose types differ between them.
func (s *isoSchema) selection(name string, d int) string {
	t := s.types[name]
	var b strings.Builder
	b.WriteString("__typename")
	switch t.Kind {
	case "OBJECT":
		s.writeFields(&b, t, d, nil)
	case "INTERFACE", "UNION":
		if t.Kind == "INTERFACE" {
			s.writeFields(&b, t, d, nil)
		}
		seen := map[string]map[string]bool{}
		for _, p := range t.PossibleTypes {
			for _, f := range s.types[p.Name].Fields {
				if seen[f.Name] == nil {
					seen[f.Name] = map[string]bool{}
				}
				seen[f.Name][f.Type.String()] = true
			}
		}
		for _, p := range t.PossibleTypes {
			alias := func(field string) string {
				if len(seen[field]) > 1 {
					return p.Name + "_" + field + ": "
				}
				return ""
			}
			b.WriteString(" ... on " + p.Name + " { ")
			s.writeFields(&b, s.types[p.Name], d, alias)
			b.WriteString(" }")
		}
	}
	return b.String()
}

func (s *isoSchema) writeFields(b *strings.Builder, t *isoType, d int, alias func(string) string) {
	container := strings.HasSuffix(t.Name, "Connection") || strings.HasSuffix(t.Name, "Edge")
	for _, f := range t.Fields {
		if strings.HasPrefix(f.Name, "__") || slices.ContainsFunc(f.Args, isoInputValue.required) {
			continue
		}
		a := ""
		if alias != nil {
			a = alias(f.Name)
		}
		n := f.Type.named()
		switch n.Kind {
		case "SCALAR", "ENUM":
			b.WriteString(" " + a + f.Name)
		case "OBJECT", "INTERFACE", "UNION":
			nd := d + 1
			if container {
				nd = d
			}
			if nd > isoMaxDepth {
				continue
			}
			args := ""
			if strings.HasSuffix(n.Name, "Connection") && slices.ContainsFunc(f.Args, func(v isoInputValue) bool { return v.Name == "first" }) {
				args = "(first: 5)"
			}
			fmt.Fprintf(b, " %s%s%s { %s }", a, f.Name, args, s.selection(n.Name, nd))
		}
	}
}

// isoIDPattern returns the prefixed ULIDs in s.
func isoIDPattern(s string) []string {
	var out []string
	for _, m := range isoIDRe.FindAllString(s, -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// candidates are the victim ids to try for an ID argument named hint: all of
// them for "id"; for "userId", "alertId"… those of that type when A has any.
func (w *isoWorld) candidates(exclude map[string]bool) func(hint string) []string {
	return func(hint string) []string {
		pool := make([]string, 0, len(w.ids))
		for _, id := range w.ids {
			if !exclude[id] {
				pool = append(pool, id)
			}
		}
		h := strings.ToLower(hint)
		if stem, ok := strings.CutSuffix(strings.TrimSuffix(h, "s"), "id"); ok && stem != "" {
			var typed []string
			for _, id := range pool {
				if strings.ToLower(w.typeOf[id]) == stem {
					typed = append(typed, id)
				}
			}
			if len(typed) > 0 {
				return typed
			}
		}
		return pool
	}
}

// ---- checks ----

func isoCodes(r *gqlResponse) []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

// isoNullData reports whether a response carries no data: no data at all, or
// only null root fields.
func isoNullData(r *gqlResponse) bool {
	if len(r.Data) == 0 || string(r.Data) == "null" {
		return true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(r.Data, &m) != nil {
		return false
	}
	for _, v := range m {
		if string(v) != "null" {
			return false
		}
	}
	return true
}

// leaks lists what of A a response shows: A's ids in data (or in errors,
// unless the request sent them), and any of A's secret values anywhere.
func (w *isoWorld) leaks(c isoCall, r *gqlResponse) []string {
	var out []string
	errs, _ := json.Marshal(r.Errors)
	for _, id := range w.ids {
		if strings.Contains(string(r.Data), id) || (strings.Contains(string(errs), id) && !slices.Contains(c.ids, id)) {
			out = append(out, w.typeOf[id]+" "+id)
		}
	}
	body := strings.ToLower(r.rawBody)
	for _, s := range w.secrets {
		if strings.Contains(body, strings.ToLower(s)) {
			out = append(out, fmt.Sprintf("%q", s))
		}
	}
	return out
}

// twin replaces every victim id in c's variables with a fresh id of the same
// type prefix that exists nowhere; it returns the variables and a function
// that normalises either answer.
func isoTwin(c isoCall) (json.RawMessage, func(string) string) {
	raw, _ := json.Marshal(c.vars)
	vars := string(raw)
	var pairs []string
	for i, id := range c.ids {
		fake := string(pulid.New(pulid.ID(id).Prefix()))
		vars = strings.ReplaceAll(vars, id, fake)
		tag := fmt.Sprintf("<id%d>", i)
		pairs = append(pairs, id, tag, fake, tag)
	}
	rep := strings.NewReplacer(pairs...)
	return json.RawMessage(vars), rep.Replace
}

// positiveControls prove the probes can see data: as A's owner every
// generated query is a valid document that runs without INTERNAL, and each
// Node type of A is readable through node(id) by someone of A, with the
// very selection the attacker uses.
func (w *isoWorld) positiveControls(t *testing.T, s *isoSchema) {
	t.Helper()
	for _, f := range s.query {
		// The first variant is enough for validity.
		if calls := s.calls("query", f, w.candidates(nil)); len(calls) > 0 {
			c := calls[0]
			r := w.sendRaw(t, w.ownerA.token, c.query, isoJSON(c.vars))
			for _, code := range isoCodes(r) {
				if code == "GRAPHQL_VALIDATION_FAILED" || code == "GRAPHQL_PARSE_FAILED" || code == "INTERNAL" {
					t.Errorf("positive control: %s as A's owner answered %s; the generated request:\n  %s\n  answer %s", f.Name, code, c, r.rawBody)
				}
			}
		}
	}
	nodeQ := `query($id: ID!) { node(id: $id) { ` + s.selection("Node", 1) + ` } }`
	for _, typ := range s.nodeTypes {
		seen := false
		for _, id := range w.ids {
			if w.typeOf[id] != typ {
				continue
			}
			for _, c := range w.callers {
				if c.key || (typ == "Session" && !c.own[id]) {
					continue
				}
				r := w.send(t, c.token, nodeQ, map[string]any{"id": id})
				if len(r.Errors) == 0 && strings.Contains(string(r.Data), id) {
					seen = true
				}
				break
			}
			if seen {
				break
			}
		}
		if !seen && w.hasType(typ) {
			t.Errorf("positive control: no %s of A is readable through node(id) by A's users; the probe would not notice a leak", typ)
		}
	}
}

// crossTenant is (a): B's OWNER calls every query and mutation with A's ids.
func (w *isoWorld) crossTenant(t *testing.T, s *isoSchema) {
	t.Helper()
	cand := w.candidates(nil)
	check := func(c isoCall) {
		t.Helper()
		r := w.sendRaw(t, w.attacker.token, c.query, isoJSON(c.vars))
		w.checkAttackerAnswer(t, c, r)
		if len(c.ids) > 0 {
			vars, norm := isoTwin(c)
			r2 := w.sendRaw(t, w.attacker.token, c.query, vars)
			if norm(r.rawBody) != norm(r2.rawBody) {
				t.Errorf("(a) %s: an id of tenant A answers differently from an id that does not exist:\n  request %s\n  A's id:  %s\n  missing: %s", c.field, c, isoClip(r.rawBody), isoClip(r2.rawBody))
			}
		}
	}
	for _, f := range s.query {
		for _, c := range s.calls("query", f, cand) {
			check(c)
		}
	}
	for _, f := range s.mutation {
		for _, c := range s.calls("mutation", f, cand) {
			check(c)
			w.keepAttackerSignedIn(t) // logout, or anything else, may end the session
		}
	}
	// The attacker's own password with A's tenant id does not open A.
	r := w.send(t, "", `mutation($i: LoginInput!) { login(input: $i) { accessToken tenant { id } } }`,
		map[string]any{"i": map[string]any{"email": w.attacker.email, "password": isoPassword, "tenantId": w.tenantA}})
	if r.code() != "FORBIDDEN" || !isoNullData(r) {
		t.Errorf("(a) login into tenant A as B's owner: %s", r.rawBody)
	}
}

func (w *isoWorld) checkAttackerAnswer(t *testing.T, c isoCall, r *gqlResponse) {
	t.Helper()
	if l := w.leaks(c, r); len(l) > 0 {
		t.Errorf("(a) %s as B's owner LEAKS %s of tenant A:\n  request %s\n  answer  %s", c.field, strings.Join(l, ", "), c, isoClip(r.rawBody))
	}
	for _, code := range isoCodes(r) {
		switch {
		case code == "INTERNAL":
			t.Errorf("(a) %s as B's owner: INTERNAL error (investigate):\n  request %s\n  answer  %s", c.field, c, r.rawBody)
		case code == "GRAPHQL_VALIDATION_FAILED" || code == "GRAPHQL_PARSE_FAILED":
			t.Errorf("(a) %s: the generated request is not valid, so it probes nothing (fix the builder in isolation_test.go):\n  request %s\n  answer  %s", c.field, c, r.rawBody)
		case !slices.Contains(isolationRefusalCodes, code):
			t.Errorf("(a) %s as B's owner: error code %q is not a refusal %v:\n  request %s\n  answer  %s", c.field, code, isolationRefusalCodes, c, r.rawBody)
		}
	}
	if r.status != http.StatusOK {
		t.Errorf("(a) %s as B's owner: HTTP %d: %s", c.field, r.status, r.rawBody)
	}
}

func (w *isoWorld) keepAttackerSignedIn(t *testing.T) {
	t.Helper()
	r := w.send(t, w.attacker.token, `{ viewer { user { id } } }`, nil)
	if len(r.Errors) == 0 {
		return
	}
	if r.code() != "UNAUTHENTICATED" {
		t.Fatalf("attacker's viewer: %s", r.rawBody)
	}
	w.attacker.token = w.b.login(t, w.attacker.email, "").AccessToken
	w.logins++
}

// roleReads is (b) for queries: each role of A, and an API key of A, reads
// with every query (and node/nodes for every Node type) whose permission it
// lacks, and sees nothing of A but its own things.
func (w *isoWorld) roleReads(t *testing.T, s *isoSchema) {
	t.Helper()
	for _, c := range w.callers {
		lacks := w.lacks(c)
		for _, f := range s.query {
			node := isolationNodeQueries[f.Name]
			perm, ok := isolationQueryPermissions[f.Name]
			switch {
			case isolationPublic[f.Name], !ok && !node:
				continue // public, or reported by checkPermissionTable
			case !node && !lacks(perm):
				continue // the role may read it
			}
			for _, x := range w.onePerType(s.calls("query", f, w.candidates(c.own))) {
				if node {
					// Only single ids of a type the caller may not read.
					p, ok := isolationNodePermissions[w.typeOf[x.firstID()]]
					if len(x.ids) != 1 || !ok || !lacks(p) {
						continue
					}
				}
				r := w.sendRaw(t, c.token, x.query, isoJSON(x.vars))
				w.checkRoleRead(t, c, x, r)
			}
		}
	}
}

// roleWrites is (b) for mutations: each role of A, and an API key of A,
// calls every mutation whose permission it lacks and is refused; a
// self-service mutation is called on other users' objects (and by the API
// key, which is nobody's self).
func (w *isoWorld) roleWrites(t *testing.T, s *isoSchema) {
	t.Helper()
	for _, c := range w.callers {
		lacks := w.lacks(c)
		for _, f := range s.mutation {
			perm, ok := isolationMutationPermissions[f.Name]
			if isolationPublic[f.Name] || !ok {
				continue // public, or reported by checkPermissionTable
			}
			self := perm == isolationSelfService
			if !self && !lacks(perm) {
				continue // the role may; nothing to refuse
			}
			calls := w.onePerType(s.calls("mutation", f, w.candidates(c.own)))
			if self && !c.key {
				// A user may act on their own things: only calls that name
				// someone else's objects must be refused.
				calls = slices.DeleteFunc(calls, func(x isoCall) bool { return x.slots == 0 })
			}
			want := []string{"FORBIDDEN"}
			switch {
			case c.key:
				want = []string{"FORBIDDEN", "UNAUTHENTICATED"}
			case self:
				want = []string{"FORBIDDEN", "NOT_FOUND"}
			}
			for _, x := range calls {
				r := w.sendRaw(t, c.token, x.query, isoJSON(x.vars))
				codes := isoCodes(r)
				bad := len(codes) == 0 || !isoNullData(r)
				for _, code := range codes {
					bad = bad || !slices.Contains(want, code)
				}
				if bad {
					need := "needs " + perm.String()
					if self {
						need = "self-service, called on another user's object"
					}
					t.Errorf("(b) %s called %s (%s) and was not refused with %v:\n  request %s\n  answer  %s", c.label, f.Name, need, want, x, isoClip(r.rawBody))
				}
			}
		}
	}
}

// lacks reports whether caller c lacks permission p by authz.Matrix; an API
// key lacks self-service too (it is nobody's self).
func (w *isoWorld) lacks(c *isoCaller) func(authz.Permission) bool {
	held := authz.RolePermissions(c.role)
	return func(p authz.Permission) bool {
		if p == isolationSelfService {
			return c.key
		}
		return !slices.Contains(held, p)
	}
}

// onePerType keeps one call per combination of victim-id types: a role's
// permission depends on the type of object named, not on which one, and an
// API key may make only 100 requests at once.
func (w *isoWorld) onePerType(calls []isoCall) []isoCall {
	seen := map[string]bool{}
	var out []isoCall
	for _, c := range calls {
		var types []string
		for _, id := range c.ids {
			types = append(types, w.typeOf[id])
		}
		k := strings.Join(types, ",")
		if !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

// checkRoleRead asserts that a read by a role lacking the permission shows
// nothing of A but the caller's own things, and is refused cleanly.
func (w *isoWorld) checkRoleRead(t *testing.T, c *isoCaller, x isoCall, r *gqlResponse) {
	t.Helper()
	var leaked []string
	for _, id := range w.ids {
		if !c.own[id] && strings.Contains(string(r.Data), id) {
			leaked = append(leaked, w.typeOf[id]+" "+id)
		}
	}
	body := strings.ToLower(r.rawBody)
	for _, sec := range w.secrets {
		if !strings.EqualFold(sec, c.email) && strings.Contains(body, strings.ToLower(sec)) {
			leaked = append(leaked, fmt.Sprintf("%q", sec))
		}
	}
	if len(leaked) > 0 {
		t.Errorf("(b) %s may not read this (%s) but %s shows %s:\n  request %s\n  answer  %s", c.label, w.readPermission(x), x.field, strings.Join(leaked, ", "), x, isoClip(r.rawBody))
	}
	for _, code := range isoCodes(r) {
		if !slices.Contains([]string{"FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"}, code) {
			t.Errorf("(b) %s reading %s: error code %q is not a refusal:\n  request %s\n  answer  %s", c.label, x.field, code, x, r.rawBody)
		}
	}
}

func (w *isoWorld) readPermission(x isoCall) string {
	if !isolationNodeQueries[x.field] {
		return isolationQueryPermissions[x.field].String()
	}
	var ps []string
	for _, id := range x.ids {
		ps = append(ps, w.typeOf[id]+" needs "+isolationNodePermissions[w.typeOf[id]].String())
	}
	return strings.Join(ps, ", ")
}

// isoClip shortens an answer for a failure message.
func isoClip(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "…"
	}
	return s
}

func isoJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (w *isoWorld) hasType(typ string) bool {
	for _, t := range w.typeOf {
		if t == typ {
			return true
		}
	}
	return false
}

var isoIDRe = regexp.MustCompile(`\b[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}\b`)
