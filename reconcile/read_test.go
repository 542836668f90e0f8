package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFileMapsColumnsOfEachListShape(t *testing.T) {
	connect := Default("connect")
	connect.Columns["first_name"] = "FirstName"
	spend := Default("spendcloud")
	cases := []struct {
		name, text string
		m          Mapping
		want       []Account
	}{
		{"connect csv, comma sniffed, BOM, header case and space ignored", "\ufeffemail , EXTERNALID,Status,FirstName\r\na@x.nl,001,Active,Ann\r\nb@x.nl,002,Disabled,Bob\r\n", connect,
			[]Account{{Line: 2, Email: "a@x.nl", EmployeeNumber: "001", Active: true, Status: "Active", FirstName: "Ann"},
				{Line: 3, Email: "b@x.nl", EmployeeNumber: "002", Status: "Disabled", FirstName: "Bob"}}},
		{"spend cloud csv, semicolons, active values case ignored", "Personeelsnummer;Gebruikersnaam;Actief\n7;u7;ja\n8;u8;Nee\n", spend,
			[]Account{{Line: 2, EmployeeNumber: "7", Username: "u7", Active: true, Status: "ja"},
				{Line: 3, EmployeeNumber: "8", Username: "u8", Status: "Nee"}}},
		{"json array", "[\n {\"Email\": \"a@x.nl\", \"ExternalId\": 1, \"Status\": \"Active\"},\n {\"email\": \"b@x.nl\", \"ExternalId\": \"2\", \"Status\": \"Suspended\"}\n]\n", Default("connect"),
			[]Account{{Line: 2, Email: "a@x.nl", EmployeeNumber: "1", Active: true, Status: "Active"},
				{Line: 3, Email: "b@x.nl", EmployeeNumber: "2", Status: "Suspended"}}},
		{"json object holding the array, bool active", "{\"total\": 1, \"meta\": {\"x\": [1]},\n \"Resources\": [\n  {\"userName\": \"a@x.nl\", \"active\": true}]}",
			Mapping{Columns: map[string]string{"email": "userName", "active": "active"}, ActiveValues: []string{"true"}},
			[]Account{{Line: 3, Email: "a@x.nl", Active: true, Status: "true"}}},
		{"no active column: every account active", "Email\na@x.nl\n\n", Mapping{Columns: map[string]string{"email": "Email"}},
			[]Account{{Line: 2, Email: "a@x.nl", Active: true}}},
		{"windows-1252 given", "Email;ExternalId;Status;FirstName\nn@x.nl;3;Active;No\xebl\n", func() Mapping { m := connect; m.Encoding = "windows-1252"; return m }(),
			[]Account{{Line: 2, Email: "n@x.nl", EmployeeNumber: "3", Active: true, Status: "Active", FirstName: "Noël"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "list")
			os.WriteFile(path, []byte(tc.text), 0o600)
			if err := tc.m.Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, "connect", tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("account %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestReadFileBadInputNamesFileLineAndColumn(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"unknown column", "Mail,ExternalId,Status\na@x.nl,1,Active\n", `line 1: no column "Email" for email (reconcile.connect.columns.email); the header has: Mail, ExternalId, Status`},
		{"wrong encoding", "Email;ExternalId;Status\nno\xebl@x.nl;1;Active\n", `line 2 column "Email": bytes that are not valid in the declared encoding: looks like windows-1252: set reconcile.connect.encoding: windows-1252`},
		{"duplicate email, case ignored", "Email,ExternalId,Status\na@x.nl,1,Active\nb@x.nl,2,Active\nA@X.nl,3,Disabled\n", `line 4 column "Email": email "a@x.nl" appears again (first on line 2)`},
		{"broken quote", "Email,ExternalId,Status\n\"a@x.nl,1,Active\nb\"x,2,Active\n", "line 3 column 2: extraneous"},
		{"utf-16 without saying so", "E\x00m\x00a\x00i\x00l\x00,\x00S\x00\n\x00", "is the file UTF-16? set reconcile.connect.encoding: utf-16"},
		{"json key missing", `[{"mail": "a@x.nl", "ExternalId": "1", "Status": "Active"}]`, `no account has the key "Email" for email`},
		{"json broken", "[\n{\"Email\": \"a@x.nl\",\n\"Status\" \"x\"}]", "line 3: "},
		{"empty", "", "file is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "list.csv")
			os.WriteFile(path, []byte(tc.text), 0o600)
			_, err := ReadFile(path, "connect", Default("connect"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and %q", err, path, tc.want)
			}
		})
	}
}

func TestMappingValidateNamesTheKey(t *testing.T) {
	cases := []struct {
		m    Mapping
		want string
	}{
		{Mapping{Columns: map[string]string{"phone": "Tel"}}, "columns.phone: unknown field"},
		{Mapping{Columns: map[string]string{"active": "Status", "email": "E"}}, "active_values: required"},
		{Mapping{Columns: map[string]string{"active": "Status"}, ActiveValues: []string{"x"}}, "columns: map at least one"},
		{Mapping{Columns: map[string]string{"email": " "}}, "columns.email: empty column name"},
		{Mapping{Columns: map[string]string{"email": "E"}, Encoding: "latin9"}, "encoding: unknown encoding"},
	}
	for _, tc := range cases {
		if err := tc.m.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.m, err, tc.want)
		}
	}
}
