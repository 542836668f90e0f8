// Command printid prints its own build id, for buildid's tests: they build
// it twice and copy it, and compare what each binary prints.
package main

import (
	"fmt"

	"github.com/spendsync/spendsync/internal/buildid"
)

// variant is set by -ldflags -X, so two builds differ in their code.
var variant string

func main() { fmt.Println(buildid.String(), variant) }
