// Package scimtest serves a real SCIM 2.0 implementation written by others
// (github.com/elimity-com/scim, which parses and checks filters, schemas
// and PATCH requests) over HTTPS on loopback, with an in-memory user store
// behind it and a wrapper in front that checks the bearer token and
// injects failures. For tests only.
package scimtest

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// Server is a SCIM service on loopback.
type Server struct {
	URL    string // base URL of the SCIM endpoints (…/v2)
	CAFile string // the test server's certificate, for ca_file
	Token  string
	TLS    *httptest.Server

	mu       sync.Mutex
	users    map[string]*user
	next     int
	requests []string // method and path of every request
	// Fault, when set, may answer a request instead of the server: it
	// returns true when it did.
	Fault func(w http.ResponseWriter, r *http.Request) bool
	// NoPatch: ServiceProviderConfig says patch is unsupported and PATCH
	// is refused with 501.
	NoPatch bool
	// Headers holds every Authorization header seen (to check no other
	// credential travels).
	inFlight, maxInFlight int
}

type user struct {
	id         string
	externalID string
	attrs      map[string]any
}

// Start serves a SCIM service until the test ends.
func Start(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{Token: token, users: map[string]*user{}}
	newServer := func(patch bool) scim.Server {
		srv, err := scim.NewServer(&scim.ServerArgs{
			ServiceProviderConfig: &scim.ServiceProviderConfig{SupportFiltering: true, SupportPatch: patch},
			ResourceTypes: []scim.ResourceType{{
				ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
				Description: optional.NewString("User Account"), Schema: schema.CoreUserSchema(),
				Handler: (*handler)(s),
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	withPatch, withoutPatch := newServer(true), newServer(false)
	s.TLS = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.inFlight++
		s.maxInFlight = max(s.maxInFlight, s.inFlight)
		noPatch, fault := s.NoPatch, s.Fault
		s.mu.Unlock()
		defer func() { s.mu.Lock(); s.inFlight--; s.mu.Unlock() }()
		if fault != nil && fault(w, r) {
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+s.Token {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"bad token"}`)
			return
		}
		if noPatch {
			if r.Method == http.MethodPatch {
				http.Error(w, "PATCH not implemented", http.StatusNotImplemented)
				return
			}
			withoutPatch.ServeHTTP(w, r)
			return
		}
		withPatch.ServeHTTP(w, r)
	}))
	t.Cleanup(s.TLS.Close)
	s.URL = s.TLS.URL + "/v2"
	s.CAFile = filepath.Join(t.TempDir(), "scim-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.TLS.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// Add stores a user as a service's administrator would; it returns its id.
func (s *Server) Add(userName, externalID, given, family string, active bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	id := fmt.Sprintf("u%04d", s.next)
	s.users[id] = &user{id: id, externalID: externalID, attrs: map[string]any{
		"userName": userName, "active": active,
		"name":   map[string]any{"givenName": given, "familyName": family},
		"emails": []any{map[string]any{"value": userName, "primary": true, "type": "work"}},
	}}
	return id
}

// User is a stored user's attributes (with id and externalId), nil when
// there is none by that userName.
func (s *Server) User(userName string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.attrs["userName"] == userName {
			return u.resource()
		}
	}
	return nil
}

// Count is the number of users stored.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// Requests lists the method and path of every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// MaxInFlight is the most requests served at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Writes lists the writing requests (POST, PUT, PATCH, DELETE) so far.
func (s *Server) Writes() []string {
	var out []string
	for _, r := range s.Requests() {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

func (u *user) resource() map[string]any {
	m := map[string]any{"id": u.id}
	if u.externalID != "" {
		m["externalId"] = u.externalID
	}
	for k, v := range u.attrs {
		m[k] = v
	}
	return m
}

func (u *user) scim() scim.Resource {
	r := scim.Resource{ID: u.id, Attributes: scim.ResourceAttributes(copyMap(u.attrs))}
	if u.externalID != "" {
		r.ExternalID = optional.NewString(u.externalID)
	}
	return r
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// handler is the in-memory store behind the SCIM server.
type handler Server

func (h *handler) taken(userName any, except string) bool {
	for id, u := range h.users {
		if id != except && strings.EqualFold(fmt.Sprint(u.attrs["userName"]), fmt.Sprint(userName)) {
			return true
		}
	}
	return false
}

func split(attrs scim.ResourceAttributes) (string, map[string]any) {
	m := map[string]any{}
	ext := ""
	for k, v := range attrs {
		if k == "externalId" {
			ext, _ = v.(string)
			continue
		}
		if k == "id" || k == "meta" || k == "schemas" {
			continue
		}
		m[k] = v
	}
	return ext, m
}

func (h *handler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.taken(attrs["userName"], "") {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	h.next++
	ext, m := split(attrs)
	u := &user{id: fmt.Sprintf("u%04d", h.next), externalID: ext, attrs: m}
	h.users[u.id] = u
	return u.scim(), nil
}

func (h *handler) Get(r *http.Request, id string) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.users[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return u.scim(), nil
}

func (h *handler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]string, 0, len(h.users))
	for id := range h.users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var match []scim.Resource
	for _, id := range ids {
		u := h.users[id]
		if params.FilterValidator != nil && params.FilterValidator.PassesFilter(u.resource()) != nil {
			continue
		}
		match = append(match, u.scim())
	}
	page := scim.Page{TotalResults: len(match), Resources: []scim.Resource{}}
	start := max(params.StartIndex, 1) - 1
	for i := start; i < len(match) && len(page.Resources) < params.Count; i++ {
		page.Resources = append(page.Resources, match[i])
	}
	return page, nil
}

func (h *handler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.users[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	if h.taken(attrs["userName"], id) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	u.externalID, u.attrs = split(attrs)
	return u.scim(), nil
}

func (h *handler) Delete(r *http.Request, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.users[id]; !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	delete(h.users, id)
	return nil
}

func (h *handler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.users[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	attrs := copyMap(u.attrs)
	ext := u.externalID
	set := func(k string, v any) {
		if k == "externalId" {
			ext, _ = v.(string)
			return
		}
		attrs[k] = v
	}
	for _, op := range ops {
		switch strings.ToLower(op.Op) {
		case "add", "replace":
			if op.Path == nil {
				m, _ := op.Value.(map[string]any)
				for k, v := range m {
					set(k, v)
				}
				continue
			}
			name := op.Path.AttributePath.AttributeName
			if sub := op.Path.AttributePath.SubAttribute; sub != nil {
				parent, _ := attrs[name].(map[string]any)
				parent = copyMap(parent)
				parent[*sub] = op.Value
				attrs[name] = parent
				continue
			}
			set(name, op.Value)
		case "remove":
			if op.Path != nil {
				delete(attrs, op.Path.AttributePath.AttributeName)
			}
		}
	}
	if h.taken(attrs["userName"], id) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	u.attrs, u.externalID = attrs, ext
	return u.scim(), nil
}
