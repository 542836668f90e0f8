package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// root is the repository root, seen from this package's folder.
const root = "../.."

// forbidden are names of files outside the repository that the docs once
// pointed at.
var forbidden = []string{"../shared", "SPEC.md", "PROFILES.md"}

// userDocs returns README.md and every Markdown file under docs/.
func userDocs(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md")}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	fence      = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```[^\\n]*$")
	inlineCode = regexp.MustCompile("`[^`\\n]*`")
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`(?m)^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$`)
	htmlLink   = regexp.MustCompile(`(?i)(?:href|src)\s*=\s*"([^"]+)"`)
	heading    = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	htmlAnchor = regexp.MustCompile(`(?i)<a\s+(?:name|id)\s*=\s*"([^"]+)"`)
)

// links returns the link targets in a Markdown text, outside code.
func links(text string) []string {
	text = fence.ReplaceAllString(text, "")
	text = inlineCode.ReplaceAllString(text, "")
	var out []string
	for _, re := range []*regexp.Regexp{inlineLink, refLink, htmlLink} {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// anchors returns the fragment names GitHub gives a Markdown file's
// headings (lower case, punctuation dropped, spaces to dashes, -1 -2 for
// repeats) and its explicit HTML anchors.
func anchors(text string) map[string]bool {
	text = fence.ReplaceAllString(text, "")
	seen := map[string]int{}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(text, -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	for _, m := range htmlAnchor.FindAllStringSubmatch(text, -1) {
		out[m[1]] = true
	}
	return out
}

func external(target string) bool {
	for _, p := range []string{"http://", "https://", "mailto:"} {
		if strings.HasPrefix(strings.ToLower(target), p) {
			return true
		}
	}
	return false
}

// TestDocsNameNoFileOutsideTheRepository fails when README.md, a page
// under docs/ or the sample config init writes names the developers' spec
// files or a path above the repository.
func TestDocsNameNoFileOutsideTheRepository(t *testing.T) {
	for _, file := range append(userDocs(t), filepath.Join(root, "cmd", "spendsync", "sample.yaml")) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, name := range forbidden {
				if strings.Contains(line, name) {
					t.Errorf("%s:%d names %s, which a user of the repository does not have: %s", rel(file), i+1, name, strings.TrimSpace(line))
				}
			}
		}
	}
}

// TestDocsLinksResolveInsideTheRepository fails on a relative link to a
// file that does not exist, one that leaves the repository, or a #fragment
// no heading of the target has.
func TestDocsLinksResolveInsideTheRepository(t *testing.T) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range userDocs(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range links(string(b)) {
			if external(target) {
				continue
			}
			checked++
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				if strings.HasPrefix(path, "/") {
					t.Errorf("%s: link %q is absolute; link relative to the file", rel(file), target)
					continue
				}
				dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				abs, err := filepath.Abs(dest)
				if err != nil || (abs != absRoot && !strings.HasPrefix(abs, absRoot+string(filepath.Separator))) {
					t.Errorf("%s: link %q leaves the repository", rel(file), target)
					continue
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: no such file in the repository", rel(file), target)
					continue
				}
			}
			if frag == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			text, err := os.ReadFile(dest)
			if err != nil {
				t.Errorf("%s: link %q: %v", rel(file), target, err)
				continue
			}
			if !anchors(string(text))[frag] {
				t.Errorf("%s: link %q: %s has no heading for #%s", rel(file), target, rel(dest), frag)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no relative links at all: the link extraction is broken")
	}
}

func rel(p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// The checks themselves, on known texts: a link checker that finds nothing
// would pass any docs.
func TestLinkAndAnchorExtraction(t *testing.T) {
	text := "See [config](docs/configuration.md#the-sources-list) and [x][ref].\n" +
		"```\n[not](a-link.md)\n```\n`[neither](b.md)` <a href=\"ops.md\">ops</a>\n[ref]: reference.md \"Reference\"\n" +
		"[web](https://example.nl/x.md)\n"
	got := strings.Join(links(text), " ")
	if want := "docs/configuration.md#the-sources-list ops.md reference.md https://example.nl/x.md"; !sameWords(got, want) {
		t.Errorf("links: got %q, want %q", got, want)
	}
	a := anchors("# Exit codes\n## `status --max-age`: monitoring\n## Exit codes\n```\n# not a heading\n```\n<a name=\"custom\"></a>\n")
	for _, want := range []string{"exit-codes", "status---max-age-monitoring", "exit-codes-1", "custom"} {
		if !a[want] {
			t.Errorf("anchors %v lack %q", a, want)
		}
	}
	if a["not-a-heading"] {
		t.Errorf("a # line in a code block counted as a heading")
	}
}

func sameWords(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	if len(x) != len(y) {
		return false
	}
	count := map[string]int{}
	for _, w := range x {
		count[w]++
	}
	for _, w := range y {
		count[w]--
		if count[w] < 0 {
			return false
		}
	}
	return true
}
