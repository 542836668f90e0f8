package connector_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/fault"
)

func TestAPIBlockErrorsNameTheKey(t *testing.T) {
	base := func() connector.Source {
		return connector.Source{Name: "hr", Profile: "raet", API: &connector.API{URL: "https://api.youforce.com/iam/v1.0",
			TokenURL: "https://connect.visma.com/connect/token", ClientID: "id", ClientSecretEnv: "RAET_SECRET"}}
	}
	cases := []struct {
		name, key, want string
		edit            func(s *connector.Source)
	}{
		{"files and api", "persons", "remove persons: or the api: block", func(s *connector.Source) { s.Persons = "p.csv" }},
		{"max_age with api", "max_age", "always current", func(s *connector.Source) { s.MaxAge = time.Hour }},
		{"no system", "api.system", "required", func(s *connector.Source) { s.Profile = "" }},
		{"unknown system", "api.system", `unknown system "workday"`, func(s *connector.Source) { s.API.System = "workday" }},
		{"plain http", "api.url", "must be https://", func(s *connector.Source) { s.API.URL = "http://api.youforce.com/iam" }},
		{"credentials in the url", "api.url", "must not carry credentials", func(s *connector.Source) { s.API.URL = "https://u:p@api.youforce.com" }},
		{"plain http token url", "api.token_url", "must be https://", func(s *connector.Source) { s.API.TokenURL = "http://connect.visma.com/token" }},
		{"no client id", "api.client_id", "required", func(s *connector.Source) { s.API.ClientID = "" }},
		{"negative max_pages", "api.max_pages", "must not be negative", func(s *connector.Source) { s.API.MaxPages = -1 }},
		{"negative max_rows", "api.max_rows", "must not be negative", func(s *connector.Source) { s.API.MaxRows = -1 }},
		{"negative max_body", "api.max_body", "must not be negative", func(s *connector.Source) { s.API.MaxBody = -1 }},
		{"negative deadline", "api.deadline", "must not be negative", func(s *connector.Source) { s.API.Deadline = -time.Second }},
		{"no client secret", "api.client_secret_env", "required", func(s *connector.Source) { s.API.ClientSecretEnv = "" }},
		{"two secrets", "api.client_secret_env", "not both", func(s *connector.Source) { s.API.ClientSecretFile = "f" }},
		{"certificate without key", "api.cert_file", "go together", func(s *connector.Source) { s.API.CertFile = "c.pem" }},
		{"negative page size", "api.page_size", "must not be negative", func(s *connector.Source) { s.API.PageSize = -1 }},
		{"afas without token", "api.token_env", "token XML", func(s *connector.Source) { s.Profile = "afas" }},
		{"successfactors without auth", "api.user", "required", func(s *connector.Source) {
			s.Profile, s.API.ClientID, s.API.ClientSecretEnv, s.API.TokenURL = "successfactors", "", "", ""
		}},
		{"provider with contracts", "api.contracts", "reads no contracts", func(s *connector.Source) {
			s.Provides = []string{"email"}
			s.API.Contracts = "employments"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(&s)
			err := s.Validate()
			var ke *fault.KeyError
			if !errors.As(err, &ke) || ke.Key != tc.key || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want key %s with %q", err, tc.key, tc.want)
			}
		})
	}
	t.Run("loopback http and the profile's defaults", func(t *testing.T) {
		s := base()
		s.API.URL = "http://127.0.0.1:8080/iam/v1.0"
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		a := s.API
		if a.System != "raet" || a.Persons != "persons" || a.Contracts != "employments" || a.PageSize != 1000 || a.Timeout != time.Minute || *a.Retries != 3 ||
			a.MaxPages != 10000 || a.MaxRows != 2000000 || a.MaxBody != 64<<20 || a.Deadline != 30*time.Minute {
			t.Fatalf("defaults: %+v", a)
		}
	})
}
