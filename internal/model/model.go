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

// KeyField is the canonical name of the employee number, the key of a
// person and of its contracts' owner. It is not in PersonFields: it is
// never changed, only matched.
const KeyField = "employee_number"

// field is one canonical field: its name and where it lives in T. The
// tables below are the one declaration of the canonical fields: the
// connector's column maps, the store's columns, the diff and the export
// all derive from them, so adding a field is one line here (plus the
// struct field and its SQL migration).
type field[T any] struct {
	name string
	ptr  func(*T) *string
}

var personFields = []field[Person]{
	{"first_name", func(p *Person) *string { return &p.FirstName }},
	{"prefix", func(p *Person) *string { return &p.Prefix }},
	{"last_name", func(p *Person) *string { return &p.LastName }},
	{"partner_prefix", func(p *Person) *string { return &p.PartnerPrefix }},
	{"partner_last_name", func(p *Person) *string { return &p.PartnerLastName }},
	{"naming_convention", func(p *Person) *string { return &p.NamingConvention }},
	{"gender", func(p *Person) *string { return &p.Gender }},
	{"email", func(p *Person) *string { return &p.Email }},
	{"username", func(p *Person) *string { return &p.Username }},
}

var contractFields = []field[Contract]{
	{"contract_id", func(c *Contract) *string { return &c.ContractID }},
	{"start_date", func(c *Contract) *string { return &c.StartDate }},
	{"end_date", func(c *Contract) *string { return &c.EndDate }},
	{"ou_code", func(c *Contract) *string { return &c.OUCode }},
	{"ou_name", func(c *Contract) *string { return &c.OUName }},
	{"function_code", func(c *Contract) *string { return &c.FunctionCode }},
	{"function_name", func(c *Contract) *string { return &c.FunctionName }},
}

// PersonFields are the canonical person field names without the key, in
// the order used for change reports and storage.
var PersonFields = names(personFields)

// ContractFields are the canonical contract field names without the
// employee number and the contract key.
var ContractFields = names(contractFields)

// PositionFields are the contract fields that say where and as what a
// person works (not when): what a role in the export carries.
var PositionFields = []string{"ou_code", "ou_name", "function_code", "function_name"}

var (
	personIndex   = index(personFields)
	contractIndex = index(contractFields)
)

func names[T any](fs []field[T]) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

func index[T any](fs []field[T]) map[string]func(*T) *string {
	out := make(map[string]func(*T) *string, len(fs))
	for _, f := range fs {
		out[f.name] = f.ptr
	}
	return out
}

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

// FieldAt returns the i-th of PersonFields.
func (p *Person) FieldAt(i int) string { return *personFields[i].ptr(p) }

// SetFieldAt sets the i-th of PersonFields: a reader that resolved its
// columns once sets fields by position, without a lookup by name.
func (p *Person) SetFieldAt(i int, v string) { *personFields[i].ptr(p) = v }

// FieldPtrs returns pointers to the person's PersonFields, in their order
// (for scanning and writing the stored columns).
func (p *Person) FieldPtrs() []*string {
	out := make([]*string, len(personFields))
	for i, f := range personFields {
		out[i] = f.ptr(p)
	}
	return out
}

func (p *Person) fieldPtr(name string) *string {
	if name == KeyField {
		return &p.EmployeeNumber
	}
	if f, ok := personIndex[name]; ok {
		return f(p)
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

// FieldAt returns the i-th of ContractFields.
func (c *Contract) FieldAt(i int) string { return *contractFields[i].ptr(c) }

// SetFieldAt sets the i-th of ContractFields (Person.SetFieldAt).
func (c *Contract) SetFieldAt(i int, v string) { *contractFields[i].ptr(c) = v }

// FieldPtrs returns pointers to the contract's ContractFields, in their
// order.
func (c *Contract) FieldPtrs() []*string {
	out := make([]*string, len(contractFields))
	for i, f := range contractFields {
		out[i] = f.ptr(c)
	}
	return out
}

func (c *Contract) fieldPtr(name string) *string {
	if name == KeyField {
		return &c.EmployeeNumber
	}
	if f, ok := contractIndex[name]; ok {
		return f(c)
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
