package lifecycle

import (
	"strings"

	"github.com/spendsync/spendsync/internal/model"
	"zombiezen.com/go/sqlite"
)

// Person is a person as the store holds it.
type Person struct {
	model.Person
	Source      string
	Left        bool
	Blocked     bool
	BlockReason string
}

// The stored columns are the canonical fields (model) between the store's
// own: a canonical field is a column of the same name.
var (
	personCols   = model.KeyField + ", source, " + strings.Join(model.PersonFields, ", ") + ", blocked, block_reason, left_at IS NOT NULL"
	contractCols = strings.Join(contractWriteCols, ", ")
)

// readPerson reads a row of personCols.
func readPerson(st *sqlite.Stmt) *Person {
	p := &Person{}
	p.EmployeeNumber, p.Source = st.ColumnText(0), st.ColumnText(1)
	i := readTexts(st, 2, p.FieldPtrs())
	p.Blocked, p.BlockReason, p.Left = st.ColumnBool(i), st.ColumnText(i+1), st.ColumnBool(i+2)
	return p
}

// readContract reads a contract in contractWriteCols order from column
// col on.
func readContract(st *sqlite.Stmt, col int) model.Contract {
	var c model.Contract
	c.EmployeeNumber, c.Key = st.ColumnText(col), st.ColumnText(col+1)
	readTexts(st, col+2, c.FieldPtrs())
	return c
}

// readTexts reads columns from col on into ptrs and returns the column
// after them.
func readTexts(st *sqlite.Stmt, col int, ptrs []*string) int {
	for _, p := range ptrs {
		*p = st.ColumnText(col)
		col++
	}
	return col
}
