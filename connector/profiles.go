package connector

import "sort"

type profile struct {
	columns map[string]string
	naming  map[string]string
}

// profiles are built-in column presets. Their column names come from
// shared/PROFILES.md (AFAS: HelloID's T4E_HelloID_Users and
// T4E_HelloID_Employments GetConnectors; ad: the Active Directory attribute
// names as exported by Get-ADUser).
var profiles = map[string]profile{
	"": {},
	"afas": {
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
	},
	"ad": {
		columns: map[string]string{
			"employee_number": "employeeID",
			"first_name":      "givenName",
			"last_name":       "sn",
			"email":           "mail",
			"username":        "userPrincipalName",
		},
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
	sort.Strings(names)
	return names
}
