package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// developerDocs are the pages that walk the code by name; their names must
// stay true as the code moves.
var developerDocs = []string{"docs/architecture.md", "docs/development.md"}

// goName is a backticked Go name in the docs: `pkg.Name`, `Type.Method`,
// `pkg.Type.Method`.
var goName = regexp.MustCompile("`([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`")

// declarations returns, per Go package name in the repository, its
// non-test top-level names, and "Type.Member" for methods, struct
// fields and interface methods.
func declarations(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := out[f.Name.Name]
		if names == nil {
			names = map[string]bool{}
			out[f.Name.Name] = names
		}
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					names[decl.Name.Name] = true
					continue
				}
				typ := decl.Recv.List[0].Type
				for {
					switch x := typ.(type) {
					case *ast.StarExpr:
						typ = x.X
						continue
					case *ast.IndexExpr:
						typ = x.X
						continue
					case *ast.IndexListExpr:
						typ = x.X
						continue
					}
					break
				}
				if id, ok := typ.(*ast.Ident); ok {
					names[id.Name+"."+decl.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.TypeSpec:
						names[spec.Name.Name] = true
						var members *ast.FieldList
						switch typ := spec.Type.(type) {
						case *ast.StructType:
							members = typ.Fields
						case *ast.InterfaceType:
							members = typ.Methods
						}
						if members != nil {
							for _, fld := range members.List {
								for _, n := range fld.Names {
									names[spec.Name.Name+"."+n.Name] = true
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							names[n.Name] = true
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// declared reports whether name (a dotted Go name from the docs) is
// declared: as pkg.Name or pkg.Type.Member in that package, or as
// Type.Member in any package. ok is false when the name is not one the
// check can judge (no segment in upper case: an event kind, a file name).
func declared(decls map[string]map[string]bool, name string) (found, ok bool) {
	parts := strings.Split(name, ".")
	upper := false
	for _, p := range parts {
		if unicode.IsUpper(rune(p[0])) {
			upper = true
		}
	}
	if !upper {
		return false, false
	}
	if names, isPkg := decls[parts[0]]; isPkg && len(parts) > 1 {
		return names[strings.Join(parts[1:], ".")], true
	}
	if len(parts) != 2 {
		return false, true
	}
	for _, names := range decls {
		if names[name] {
			return true, true
		}
	}
	return false, true
}

// repoPath is a backticked path into the repository: a .go file or a
// folder under one of its top-level folders.
var repoPath = regexp.MustCompile("`((?:cmd|connector|ingest|lifecycle|pipeline|export|transport|connect|report|reconcile|internal|contrib)(?:/[A-Za-z_][A-Za-z0-9_.-]*)*)/?(?:\\.\\.\\.)?`")

// TestDeveloperDocsNameWhatTheCodeHas fails when the architecture or the
// development page names a Go identifier or a file the code no longer has,
// so the walk from the HR file to the drop stays the code's walk.
func TestDeveloperDocsNameWhatTheCodeHas(t *testing.T) {
	decls := declarations(t)
	for _, doc := range developerDocs {
		data, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, m := range goName.FindAllStringSubmatch(text, -1) {
			if found, ok := declared(decls, m[1]); ok && !found {
				t.Errorf("%s names `%s`, which no package declares", doc, m[1])
			}
		}
		for _, m := range repoPath.FindAllStringSubmatch(text, -1) {
			if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
				t.Errorf("%s names `%s`, which the repository does not have", doc, m[1])
			}
		}
	}
}

func TestDeclaredJudgesDottedNames(t *testing.T) {
	decls := map[string]map[string]bool{
		"lifecycle": {"Store": true, "Store.Apply": true},
		"connector": {"Source.CheckAge": true},
	}
	for _, c := range []struct {
		name      string
		found, ok bool
	}{
		{"lifecycle.Store.Apply", true, true},
		{"lifecycle.Store.Gone", false, true},
		{"Source.CheckAge", true, true},
		{"Store.Apply", true, true},
		{"Nothing.Here", false, true},
		{"person.joined", false, false},
		{"export.json", false, false},
	} {
		found, ok := declared(decls, c.name)
		if found != c.found || ok != c.ok {
			t.Errorf("declared(%q) = %v, %v; want %v, %v", c.name, found, ok, c.found, c.ok)
		}
	}
}
