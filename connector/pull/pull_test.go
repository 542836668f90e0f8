package pull

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// worker is an ADP Workforce Now worker as the Worker API documents it
// (abridged).
const worker = `{
  "associateOID": "G3349PZGBADQY8H7",
  "workerID": {"idValue": "000101"},
  "person": {
    "legalName": {"givenName": "Johannes", "nickName": "", "familyName1": "Boele", "familyName1Prefix": "van den"},
    "genderCode": {"codeValue": "MALE", "shortName": "Male"},
    "customFieldGroup": {"stringFields": [
      {"nameCode": {"codeValue": "naamSamenstelling"}, "stringValue": "tiva-wp"},
      {"nameCode": {"codeValue": "partnerFamilyName1"}, "stringValue": "Vries"}
    ]}
  },
  "businessCommunication": {"emails": [{"emailUri": "jan.boele@example.nl"}]},
  "workAssignments": [
    {"itemID": "A1", "actualStartDate": "2015-01-01", "terminationDate": null, "expectedTerminationDate": "2027-06-30",
     "homeOrganizationalUnits": [
       {"typeCode": {"codeValue": "Business Unit"}, "nameCode": {"codeValue": "BU1"}},
       {"typeCode": {"codeValue": "Department"}, "nameCode": {"codeValue": "FIN", "longName": "Financiën"}}],
     "jobCode": {"codeValue": "CTRL", "longName": "Controller"}},
    {"itemID": "A2", "actualStartDate": "2020-06-01", "jobCode": {"codeValue": "MT", "shortName": "MT-lid"}}
  ],
  "headcount": 1,
  "active": true,
  "hired": "/Date(1420070400000)/"
}`

func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPathsReadNestedFieldsFiltersPositionsAndAlternatives(t *testing.T) {
	obj := decode(t, worker)
	cases := []struct{ path, want string }{
		{"workerID.idValue", "000101"},
		{"person.legalName.nickName|person.legalName.givenName", "Johannes"},
		{"person.legalName.familyName1Prefix", "van den"},
		{"person.customFieldGroup.stringFields[nameCode.codeValue=naamSamenstelling].stringValue", "tiva-wp"},
		{"person.customFieldGroup.stringFields[nameCode.codeValue=partnerFamilyName1Prefix].stringValue", ""},
		{"businessCommunication.emails[0].emailUri", "jan.boele@example.nl"},
		{"businessCommunication.emails[1].emailUri", ""},
		{"headcount", "1"},
		{"active", "true"},
		{"hired", "2015-01-01"},
		{"nowhere.at.all", ""},
		{"workerID", `{"idValue":"000101"}`},
	}
	for _, tc := range cases {
		p, err := ParsePath(tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if got := p.text(obj, nil); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestAFanOutPathGivesOneRowPerArrayElement(t *testing.T) {
	// A kept pull replays without a server: the same decoding path.
	dir := t.TempDir()
	body := `{"workers":[` + worker + `,{"workerID":{"idValue":"000102"},"workAssignments":[]}]}`
	for _, f := range []string{"persons-0001.json", "contracts-0001.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, manifestName), []byte(`{"pages":{"persons":1,"contracts":1}}`), 0o600)
	s, err := Open(context.Background(), &Config{System: "adp", Replay: dir})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Rows("contracts", "hr/v2/workers", []string{"workerID.idValue", "workAssignments[].itemID",
		"workAssignments[].expectedTerminationDate|workAssignments[].terminationDate",
		"workAssignments[].homeOrganizationalUnits[typeCode.codeValue=Department].nameCode.codeValue",
		"workAssignments[].jobCode.longName|workAssignments[].jobCode.shortName"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, _, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(r.Line(), ":", strings.Join(rec, ",")))
	}
	want := []string{"1:000101,A1,2027-06-30,FIN,Controller", "1:000101,A2,,,MT-lid"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := s.Rows("contracts", "", []string{"a[].b", "c[].d"}); err == nil {
		t.Error("two different fan-out arrays were accepted")
	}
}

func TestBadPathsAreRefusedWithTheReason(t *testing.T) {
	for _, p := range []string{"", "a..b", "a[", "a[x]", "a[-1]", "a[].b[].c", "a.", ".a", "a]b", "a[b[]=c]"} {
		if _, err := ParsePath(p); err == nil {
			t.Errorf("%q was accepted", p)
		}
	}
}

func TestFirstRequestsKeepTheResourcesQueryAndAddPaging(t *testing.T) {
	base, _ := url.Parse("https://graph.microsoft.com/v1.0")
	paths := []Path{}
	for _, c := range []string{"employeeId", "mail|userPrincipalName", "manager.id"} {
		p, _ := ParsePath(c)
		paths = append(paths, p)
	}
	u, err := systems["entra"].first(base, "users?$filter=accountEnabled eq true", 999, paths)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/v1.0/users" || q.Get("$filter") != "accountEnabled eq true" || q.Get("$select") != "employeeId,mail,userPrincipalName,manager" || q.Get("$top") != "999" {
		t.Fatalf("entra first page: %s", u)
	}
	afas, _ := url.Parse("https://12345.rest.afas.online/profitrestservices")
	u, err = systems["afas"].first(afas, "T4E_HelloID_Users?orderbyfieldids=Medewerker", 1000, nil)
	if err != nil || u.Path != "/profitrestservices/connectors/T4E_HelloID_Users" || u.Query().Get("orderbyfieldids") != "Medewerker" || u.Query().Get("take") != "1000" {
		t.Fatalf("afas first page: %s %v", u, err)
	}
	if _, err := systems["raet"].first(base, "https://elsewhere.example/persons", 10, nil); err == nil {
		t.Error("a resource on another host was accepted")
	}
	next, err := followLink(u, 0, 0, "https://elsewhere.example/connectors/x?skip=5")
	if err == nil || next != nil {
		t.Errorf("a next link to another host was followed: %v", next)
	}
}

func TestKeptPullsOlderThanRetentionAndStaleLeftoversArePruned(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	mk := func(age time.Duration, suffix string) string {
		name := now.Add(-age).Format(stampLayout) + suffix
		os.Mkdir(filepath.Join(dir, name), 0o700)
		return name
	}
	old := mk(31*24*time.Hour, "")
	recent := mk(24*time.Hour, "")
	stale := mk(2*time.Hour, ".partial")
	running := mk(time.Minute, ".partial")
	os.Mkdir(filepath.Join(dir, "notes"), 0o700)
	if err := prune(dir, 30*24*time.Hour, now); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{old: false, recent: true, stale: false, running: true, "notes": true} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: kept %v, want %v", name, err == nil, want)
		}
	}
}

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	if d := parseRetryAfter("3"); d != 3*time.Second {
		t.Errorf("seconds: %v", d)
	}
	if d := parseRetryAfter(time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)); d < 8*time.Second || d > 11*time.Second {
		t.Errorf("date: %v", d)
	}
	if d := parseRetryAfter("soon"); d != 0 {
		t.Errorf("garbage: %v", d)
	}
}
