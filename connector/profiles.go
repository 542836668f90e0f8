package connector

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/model"
)

// profile is a built-in preset for one HR system: default columns (CSV
// headers, or JSON paths for an api: source), date format, delimiter,
// naming-convention map and, for API systems, the default resources.
type profile struct {
	about      string // one line: the system and its export
	origin     string // where the names come from
	columns    map[string]string
	naming     map[string]string
	dateFormat string
	delimiter  string
	system     string // the api: system this profile's paths are for, if any
	persons    string // default api.persons resource
	contracts  string // default api.contracts resource
	notes      []string
}

// profiles are the built-in presets. Their names come from the public
// HelloID source connectors of Tools4ever and the vendors' API references.
var profiles = map[string]profile{
	"": {},
	"afas": {
		about:  "AFAS Profit: the HelloID GetConnectors T4E_HelloID_Users and T4E_HelloID_Employments (CSV export or REST)",
		origin: "column names of the Tools4ever HelloID AFAS Profit GetConnectors (T4E_HelloID_Users, T4E_HelloID_Employments)",
		columns: map[string]string{
			"employee_number":   "Medewerker",
			"first_name":        "Roepnaam",
			"prefix":            "Voorvoegsel",
			"last_name":         "Geboortenaam",
			"partner_prefix":    "Voorvoegsel_partner",
			"partner_last_name": "Geboortenaam_partner",
			"naming_convention": "Naamgebruik_code",
			"gender":            "Geslacht",
			"email":             "Email_werk",
			"username":          "UPN",
			"contract_id":       "ExternalID",
			"start_date":        "Begindatum_functie",
			"end_date":          "Einddatum_functie",
			"ou_code":           "Organisatorische_eenheid_code",
			"ou_name":           "Organisatorische_eenheid_omschrijving",
			"function_code":     "Functie_code",
			"function_name":     "Functie_omschrijving",
		},
		naming: map[string]string{"0": "B", "1": "PB", "2": "P", "3": "BP"},
		system: "afas",
		// Sorted on a stable key, as the HelloID connector asks, so rows
		// cannot shift between pages.
		persons:   "T4E_HelloID_Users?orderbyfieldids=Medewerker",
		contracts: "T4E_HelloID_Employments?orderbyfieldids=Medewerker,ExternalID",
		notes: []string{
			"Roepnaam is the name in daily use; Voornaam holds the official first names.",
			"Geslacht is not in every GetConnector version; add it where Spend Cloud needs it.",
			"CSV exports often use dd-mm-yyyy: set date_format: 02-01-2006. ISO timestamps are always accepted.",
		},
	},
	"ad": {
		about:  "Active Directory: a Get-ADUser export as CSV",
		origin: "LDAP attribute names as Get-ADUser | Export-Csv writes them",
		columns: map[string]string{
			"employee_number": "employeeID",
			"first_name":      "givenName",
			"last_name":       "sn",
			"email":           "mail",
			"username":        "userPrincipalName",
		},
		notes: []string{"Usually a provides: [username, email] source."},
	},
	"entra": {
		about:  "Microsoft Entra ID: Microsoft Graph /users (api: system entra)",
		origin: "Microsoft Graph v1.0 user resource property names",
		columns: map[string]string{
			"employee_number": "employeeId",
			"first_name":      "givenName",
			"last_name":       "surname",
			"email":           "mail",
			"username":        "userPrincipalName",
			"start_date":      "employeeHireDate",
			"end_date":        "employeeLeaveDateTime",
			"ou_name":         "department",
			"function_name":   "jobTitle",
		},
		system:  "entra",
		persons: "users",
		notes: []string{
			"Usually a provides: [username, email] source.",
			"Use onPremisesSamAccountName for username where Spend Cloud wants the short name.",
			"The admin center's \"Download users\" CSV has no employeeId and cannot key persons.",
		},
	},
	"raet": {
		about:  "Visma Raet Youforce IAM API: persons and employments (api: system raet)",
		origin: "field names of the Youforce IAM API as mapped by the Tools4ever HelloID Raet Beaufort and Core Business IAM API connectors",
		columns: map[string]string{
			"employee_number":   "personCode",
			"first_name":        "knownAs",
			"prefix":            "lastNameAtBirthPrefix",
			"last_name":         "lastNameAtBirth",
			"partner_prefix":    "partnerNamePrefix",
			"partner_last_name": "partnerName",
			"naming_convention": "nameAssembleOrder",
			"gender":            "gender",
			"email":             "emailAddresses[type=Business].address",
			"contract_id":       "employmentCode",
			"start_date":        "hireDate",
			"end_date":          "dischargeDate",
			"ou_code":           "organizationUnit",
			"function_code":     "jobProfile",
		},
		// Beaufort sends letters, Core Business digits; they do not overlap.
		naming: map[string]string{
			"E": "B", "P": "P", "B": "PB", "C": "BP", "D": "BP",
			"0": "PB", "1": "B", "2": "P", "3": "BP", "4": "B",
		},
		system:    "raet",
		persons:   "persons",
		contracts: "employments",
		notes: []string{
			"knownAs is the name in daily use; firstNames holds the official names.",
			"gender arrives as Male/Female: add them to rules.gender_map (Male: M, Female: V).",
			"dischargeDate 9999-12-31 means open-ended.",
			"OU and job names live in organizationUnits (shortName/fullName) and jobProfiles; join them with a lookup.",
		},
	},
	"raet-hrcore": {
		about:  "Raet HR Core CSV files: Medewerker.csv (persons) and Aanstellingen.csv (contracts)",
		origin: "headers of the Raet HR Core exports as read by the Tools4ever HelloID RAET HR Core CSV connector",
		columns: map[string]string{
			"employee_number":   "[Personeelsnummer]",
			"first_name":        "[Roepnaam]",
			"prefix":            "[Tussenvoegsel]",
			"last_name":         "[Eigen naam]",
			"naming_convention": "[Naam samenstelling]",
			"username":          "[User ID]",
			"start_date":        "[Begindatum]",
			"end_date":          "[Einddatum]",
			"ou_code":           "[Afdelingscode]",
			"function_code":     "[Functiecode]",
		},
		naming:     map[string]string{"1": "B", "2": "BP", "3": "PB", "4": "P"},
		dateFormat: "20060102",
		delimiter:  "|",
		notes: []string{
			"[User ID] stands in Aanstellingen.csv; give it as a contracts-side lookup or a provides: source where persons lack it.",
			"Partner names: Echtgenoot.csv [Voorvoegsels] / [Achternaam], row with [Volgend Volgnummer] = 0.",
			"Email: Telefoon.csv [Telefoonnummer] where [Type nummer] = EML.",
			"OU names: Eenheid.csv [ID org-eenheid] -> [Lg naam org-eenhd]; function names: Functie.csv [Werkidentificatie] -> [Functienaam].",
			"Seen in the field: 't written as \"t, and files saved again through Excel.",
			"Aanstellingen carry no contract id: a contract is its start date, OU and function. Identical rows of one person (two part-time appointments in one unit and function) are one contract, counted as merged; rows of one key that differ in another field (an end date) are all rejected.",
		},
	},
	"adp": {
		about:  "ADP Workforce Now: /hr/v2/workers, one contract per workAssignments[] entry (api: system adp)",
		origin: "ADP Workforce Now Worker API (hr/v2/workers) field names, as mapped by the Tools4ever HelloID ADP Workforce connector",
		columns: map[string]string{
			"employee_number":   "workerID.idValue",
			"first_name":        "person.legalName.nickName|person.legalName.givenName",
			"prefix":            "person.legalName.familyName1Prefix",
			"last_name":         "person.legalName.familyName1",
			"partner_prefix":    "person.customFieldGroup.stringFields[nameCode.codeValue=partnerFamilyName1Prefix].stringValue",
			"partner_last_name": "person.customFieldGroup.stringFields[nameCode.codeValue=partnerFamilyName1].stringValue",
			"naming_convention": "person.customFieldGroup.stringFields[nameCode.codeValue=naamSamenstelling].stringValue",
			"gender":            "person.genderCode.codeValue",
			"email":             "businessCommunication.emails[0].emailUri",
			"contract_id":       "workAssignments[].itemID",
			"start_date":        "workAssignments[].actualStartDate",
			"end_date":          "workAssignments[].expectedTerminationDate|workAssignments[].terminationDate",
			"ou_code":           "workAssignments[].homeOrganizationalUnits[typeCode.codeValue=Department].nameCode.codeValue",
			"ou_name":           "workAssignments[].homeOrganizationalUnits[typeCode.codeValue=Department].nameCode.longName",
			"function_code":     "workAssignments[].jobCode.codeValue",
			"function_name":     "workAssignments[].jobCode.longName|workAssignments[].jobCode.shortName",
		},
		naming:    map[string]string{"tiva": "B", "tiva-wp": "BP", "tiwp": "P", "tiwp-va": "PB"},
		system:    "adp",
		persons:   "workers",
		contracts: "workers",
		notes: []string{
			"associateOID is ADP's internal id; workerID.idValue is the employee number.",
			"gender arrives as MALE/FEMALE: add them to rules.gender_map (MALE: M, FEMALE: V).",
			"Partner names and naamSamenstelling are customer custom fields: check their nameCode in your tenant.",
		},
	},
	"successfactors": {
		about:  "SAP SuccessFactors Employee Central OData v2: PerPerson (expanded) and EmpJob (api: system successfactors)",
		origin: "SAP SuccessFactors Employee Central OData v2 entity and property names (PerPerson, PerPersonal, PerEmail, User, EmpJob), as read by the Tools4ever HelloID SAP SuccessFactors connector",
		columns: map[string]string{
			"employee_number":   "personIdExternal",
			"first_name":        "personalInfoNav.results[0].preferredName|personalInfoNav.results[0].firstName",
			"prefix":            "personalInfoNav.results[0].middleName",
			"last_name":         "personalInfoNav.results[0].lastName",
			"partner_prefix":    "personalInfoNav.results[0].partnerNamePrefix",
			"partner_last_name": "personalInfoNav.results[0].partnerName",
			"naming_convention": "personalInfoNav.results[0].nameFormatCode",
			"gender":            "personalInfoNav.results[0].gender",
			"email":             "emailNav.results[isPrimary=true].emailAddress",
			"username":          "employmentNav.results[0].userNav.username",
		},
		system:    "successfactors",
		persons:   "PerPerson?$expand=personalInfoNav,emailNav,employmentNav/userNav",
		contracts: "EmpJob",
		notes: []string{
			"nameFormatCode is a customer picklist: map its codes with naming_map.",
			"The prefix picklist and the Business email type differ per tenant; override with columns: where needed.",
			"Contracts come from EmpJob, keyed by userId: set columns.employee_number for the contracts if userId differs from personIdExternal.",
			"OData dates (/Date(ms)/) are read as dates.",
		},
	},
}

// Contract-side paths of profiles whose contracts come from another
// resource than the persons (EmpJob).
var profileContractColumns = map[string]map[string]string{
	"successfactors": {
		"employee_number": "userId",
		"start_date":      "startDate",
		"end_date":        "endDate",
		"ou_code":         "department",
		"function_code":   "jobCode",
		"function_name":   "jobTitle",
	},
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	var names []string
	for n := range profiles {
		if n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// WriteProfiles lists the built-in profiles, one a line.
func WriteProfiles(w io.Writer) error {
	for _, n := range ProfileNames() {
		if _, err := fmt.Fprintf(w, "%-15s %s\n", n, profiles[n].about); err != nil {
			return err
		}
	}
	return nil
}

// WriteProfile describes one profile: each canonical field with its column
// or path, the date format, delimiter, naming map, and where the names come
// from. It reports false for an unknown name.
func WriteProfile(w io.Writer, name string) (bool, error) {
	p, ok := profiles[name]
	if !ok || name == "" {
		return false, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", name, p.about)
	fmt.Fprintf(&b, "names from: %s\n\n", p.origin)
	kind := "column"
	if p.system != "" {
		kind = "column or JSON path"
	}
	fmt.Fprintf(&b, "%-18s %s\n", "field", kind)
	for _, f := range append(slices.Clone(personColumns), contractColumns...) {
		c, ok := p.columns[f]
		if !ok {
			c = "-"
		}
		fmt.Fprintf(&b, "%-18s %s\n", f, c)
	}
	if cc := profileContractColumns[name]; cc != nil {
		fmt.Fprintf(&b, "\ncontracts (%s):\n", p.contracts)
		for _, f := range append([]string{model.KeyField}, contractColumns...) {
			if c, ok := cc[f]; ok {
				fmt.Fprintf(&b, "%-18s %s\n", f, c)
			}
		}
	}
	b.WriteString("\n")
	df := p.dateFormat
	if df == "" {
		df = "2006-01-02 (ISO timestamps always accepted)"
	}
	fmt.Fprintf(&b, "date_format: %s\n", df)
	if p.delimiter != "" {
		fmt.Fprintf(&b, "delimiter: %q\n", p.delimiter)
	}
	if len(p.naming) > 0 {
		var pairs []string
		for _, k := range slices.Sorted(maps.Keys(p.naming)) {
			pairs = append(pairs, k+"="+p.naming[k])
		}
		fmt.Fprintf(&b, "naming_map: %s\n", strings.Join(pairs, " "))
	}
	if p.system != "" {
		fmt.Fprintf(&b, "api: system %s, persons %q", p.system, p.persons)
		if p.contracts != "" {
			fmt.Fprintf(&b, ", contracts %q", p.contracts)
		}
		b.WriteString("\n")
	}
	for _, n := range p.notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	b.WriteString("explicit columns: in the config always win over these.\n")
	_, err := io.WriteString(w, b.String())
	return true, err
}
