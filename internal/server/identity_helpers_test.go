package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// account is a signed-in user of a test server.
type account struct {
	Email, AccessToken, RefreshToken string
	UserID, TenantID                 string
}

// signUp creates a user and tenant through the API.
func (b *testBundle) signUp(t testing.TB, email, tenant string) account {
	t.Helper()
	r := b.post(t, `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken refreshToken user { id } tenant { id } } }`,
		map[string]any{"i": map[string]any{"email": email, "password": "a long enough password", "tenantName": tenant}})
	var d struct {
		SignUp struct {
			AccessToken, RefreshToken string
			User, Tenant              struct{ ID string }
		}
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) != 0 {
		t.Fatalf("signUp %s: %v %s", email, err, r.rawBody)
	}
	return account{Email: email, AccessToken: d.SignUp.AccessToken, RefreshToken: d.SignUp.RefreshToken, UserID: d.SignUp.User.ID, TenantID: d.SignUp.Tenant.ID}
}

// login signs in as email (optionally into tenantID).
func (b *testBundle) login(t *testing.T, email, tenantID string) account {
	t.Helper()
	in := map[string]any{"email": email, "password": "a long enough password"}
	if tenantID != "" {
		in["tenantId"] = tenantID
	}
	r := b.post(t, `mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id } tenant { id } } }`, map[string]any{"i": in})
	var d struct {
		Login struct {
			AccessToken, RefreshToken string
			User, Tenant              struct{ ID string }
		}
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) != 0 {
		t.Fatalf("login %s: %v %s", email, err, r.rawBody)
	}
	return account{Email: email, AccessToken: d.Login.AccessToken, RefreshToken: d.Login.RefreshToken, UserID: d.Login.User.ID, TenantID: d.Login.Tenant.ID}
}

// bearer sends a GraphQL request with an access token or API key.
func (b *testBundle) bearer(t testing.TB, token, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, b.url+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return b.do(t, req)
}
