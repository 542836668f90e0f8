package pull

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
