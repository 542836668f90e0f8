// Package model holds the canonical person and contract shared by the
// connector (which produces them), lifecycle (which stores them) and export
// (which turns them into the dump).
package model

// Person is one employee, keyed by EmployeeNumber (text: leading zeros are
// significant in HR systems).
type Person struct {
	EmployeeNumber   string `json:"employee_number"`
	FirstName        string `json:"first_name"`
	Prefix           string `json:"prefix"`
	LastName         string `json:"last_name"`
	PartnerPrefix    string `json:"partner_prefix"`
	PartnerLastName  string `json:"partner_last_name"`
	NamingConvention string `json:"naming_convention"`
	Gender           string `json:"gender"`
	Email            string `json:"email"`
	Username         string `json:"username"`
}

// Contract is one employment or position. Key identifies it within its
// person: the contract id when the source has one, else start date, OU code
// and function code, so an end date or name change is a change, not a
// remove-and-add.
type Contract struct {
	EmployeeNumber string `json:"employee_number"`
	Key            string `json:"key"`
	ContractID     string `json:"contract_id"`
	StartDate      string `json:"start_date"` // YYYY-MM-DD or empty (open)
	EndDate        string `json:"end_date"`   // YYYY-MM-DD or empty (open-ended)
	OUCode         string `json:"ou_code"`
	OUName         string `json:"ou_name"`
	FunctionCode   string `json:"function_code"`
	FunctionName   string `json:"function_name"`
}

// PersonFields are the canonical person field names, in the order used for
// change reports.
var PersonFields = []string{"first_name", "prefix", "last_name", "partner_prefix",
	"partner_last_name", "naming_convention", "gender", "email", "username"}

// ContractFields are the canonical contract field names.
var ContractFields = []string{"contract_id", "start_date", "end_date", "ou_code",
	"ou_name", "function_code", "function_name"}

// Field returns a person field by canonical name.
func (p *Person) Field(name string) string {
	if f := p.fieldPtr(name); f != nil {
		return *f
	}
	return ""
}

// SetField sets a person field by canonical name; unknown names are ignored.
func (p *Person) SetField(name, v string) {
	if f := p.fieldPtr(name); f != nil {
		*f = v
	}
}

func (p *Person) fieldPtr(name string) *string {
	switch name {
	case "employee_number":
		return &p.EmployeeNumber
	case "first_name":
		return &p.FirstName
	case "prefix":
		return &p.Prefix
	case "last_name":
		return &p.LastName
	case "partner_prefix":
		return &p.PartnerPrefix
	case "partner_last_name":
		return &p.PartnerLastName
	case "naming_convention":
		return &p.NamingConvention
	case "gender":
		return &p.Gender
	case "email":
		return &p.Email
	case "username":
		return &p.Username
	}
	return nil
}

// Field returns a contract field by canonical name.
func (c *Contract) Field(name string) string {
	if f := c.fieldPtr(name); f != nil {
		return *f
	}
	return ""
}

// SetField sets a contract field by canonical name; unknown names are ignored.
func (c *Contract) SetField(name, v string) {
	if f := c.fieldPtr(name); f != nil {
		*f = v
	}
}

func (c *Contract) fieldPtr(name string) *string {
	switch name {
	case "employee_number":
		return &c.EmployeeNumber
	case "contract_id":
		return &c.ContractID
	case "start_date":
		return &c.StartDate
	case "end_date":
		return &c.EndDate
	case "ou_code":
		return &c.OUCode
	case "ou_name":
		return &c.OUName
	case "function_code":
		return &c.FunctionCode
	case "function_name":
		return &c.FunctionName
	}
	return nil
}

// ActiveOn reports whether the contract is active on date (YYYY-MM-DD),
// widened by leadDays before the start and graceDays after the end.
// Dates are ISO strings, so they compare correctly as text.
func (c Contract) ActiveOn(date string, leadDays, graceDays int) bool {
	if c.StartDate != "" && shift(c.StartDate, -leadDays) > date {
		return false
	}
	if c.EndDate != "" && shift(c.EndDate, graceDays) < date {
		return false
	}
	return true
}
