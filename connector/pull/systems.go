package pull

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spendsync/spendsync/internal/show"
)

// system describes one API: where its rows and its next-page link stand in
// an answer, how the first request looks and how paging goes on.
type system struct {
	rows []string // keys leading to the rows array; the last may list alternatives a|b
	next []string // keys leading to the next-page link, if the API has one
	// first builds the first page's URL.
	first func(base *url.URL, resource string, pageSize int, paths []Path) (*url.URL, error)
	// more returns the next page's URL, or nil at the end.
	more func(cur *url.URL, rows, pageSize int, next string) (*url.URL, error)
}

var systems = map[string]system{
	// AFAS Profit GetConnector: GET {url}/connectors/{name}?skip=&take=;
	// {"skip":N,"take":M,"rows":[...]}; the last page holds fewer rows.
	"afas": {
		rows: []string{"rows"},
		first: func(base *url.URL, resource string, n int, paths []Path) (*url.URL, error) {
			name, query, _ := strings.Cut(resource, "?")
			u, err := resolve(base, "connectors/"+url.PathEscape(name))
			if err != nil {
				return nil, err
			}
			if u.RawQuery, err = validQuery(query); err != nil {
				return nil, err
			}
			return setQuery(u, "skip", "0", "take", strconv.Itoa(n)), nil
		},
		more: func(cur *url.URL, rows, n int, _ string) (*url.URL, error) {
			if rows < n {
				return nil, nil
			}
			skip, _ := strconv.Atoi(cur.Query().Get("skip"))
			return setQuery(cur, "skip", strconv.Itoa(skip+n)), nil
		},
	},
	// Microsoft Graph: GET {url}/users?$select=&$top=; {"value":[...],
	// "@odata.nextLink":"https://..."} until there is no nextLink.
	"entra": {
		rows: []string{"value"},
		next: []string{"@odata.nextLink"},
		first: func(base *url.URL, resource string, n int, paths []Path) (*url.URL, error) {
			u, err := resolve(base, resource)
			if err != nil {
				return nil, err
			}
			return setQuery(u, "$select", strings.Join(topFields(paths), ","), "$top", strconv.Itoa(n)), nil
		},
		more: followLink,
	},
	// Youforce IAM API: GET {url}/persons?take=; {"value":[...],
	// "nextLink":"...?skip=..&take=.."}. Only the link's query is used: the
	// connector keeps to the configured host and path.
	"raet": {
		rows: []string{"value|values"},
		next: []string{"nextLink"},
		first: func(base *url.URL, resource string, n int, paths []Path) (*url.URL, error) {
			u, err := resolve(base, resource)
			if err != nil {
				return nil, err
			}
			return setQuery(u, "take", strconv.Itoa(n)), nil
		},
		more: func(cur *url.URL, _, _ int, next string) (*url.URL, error) {
			if next == "" {
				return nil, nil
			}
			l, err := url.Parse(next)
			if err != nil {
				return nil, fmt.Errorf("nextLink is not a URL")
			}
			u := *cur
			u.RawQuery = l.RawQuery
			return &u, nil
		},
	},
	// ADP Workforce Now: GET {url}/hr/v2/workers?$top=&$skip=;
	// {"workers":[...]}; a short page or 204 No Content ends it.
	"adp": {
		rows: []string{"workers"},
		first: func(base *url.URL, resource string, n int, paths []Path) (*url.URL, error) {
			u, err := resolve(base, resource)
			if err != nil {
				return nil, err
			}
			return setQuery(u, "$top", strconv.Itoa(n), "$skip", "0"), nil
		},
		more: skipTop,
	},
	// SuccessFactors OData v2: GET {url}/{Entity}?$format=json&$top=&$skip=;
	// {"d":{"results":[...],"__next":"..."}}: follow __next when the server
	// pages itself, else page on with $skip until a short page.
	"successfactors": {
		rows: []string{"d", "results"},
		next: []string{"d", "__next"},
		first: func(base *url.URL, resource string, n int, paths []Path) (*url.URL, error) {
			u, err := resolve(base, resource)
			if err != nil {
				return nil, err
			}
			return setQuery(u, "$format", "json", "$top", strconv.Itoa(n), "$skip", "0"), nil
		},
		more: func(cur *url.URL, rows, n int, next string) (*url.URL, error) {
			if next != "" {
				return followLink(cur, rows, n, next)
			}
			return skipTop(cur, rows, n, "")
		},
	},
}

// resolve joins base and a resource that may carry its own query
// ("PerPerson?$expand=personalInfoNav").
func resolve(base *url.URL, resource string) (*url.URL, error) {
	ref, err := url.Parse(resource)
	if err != nil || ref.IsAbs() || ref.Host != "" {
		return nil, fmt.Errorf("resource %q must be a name or path below api.url", resource)
	}
	u := *base
	u.Path = strings.TrimRight(base.Path, "/") + "/" + strings.TrimLeft(ref.Path, "/")
	u.RawPath = ""
	u.RawQuery = ref.RawQuery
	return &u, nil
}

func validQuery(q string) (string, error) {
	if _, err := url.ParseQuery(q); err != nil {
		return "", fmt.Errorf("resource query %q: %w", q, err)
	}
	return q, nil
}

func setQuery(u *url.URL, kv ...string) *url.URL {
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	out := *u
	out.RawQuery = q.Encode()
	return &out
}

func skipTop(cur *url.URL, rows, n int, _ string) (*url.URL, error) {
	if rows < n {
		return nil, nil
	}
	skip, _ := strconv.Atoi(cur.Query().Get("$skip"))
	return setQuery(cur, "$skip", strconv.Itoa(skip+n)), nil
}

// followLink goes on at an absolute next-page link on the same host: the
// bearer token is never sent elsewhere.
func followLink(cur *url.URL, _, _ int, next string) (*url.URL, error) {
	if next == "" {
		return nil, nil
	}
	l, err := cur.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("next-page link is not a URL")
	}
	if l.Scheme != cur.Scheme || l.Host != cur.Host {
		return nil, fmt.Errorf("next-page link points at another host (%s); refused", show.Quote(l.Scheme+"://"+l.Host))
	}
	return l, nil
}

// topFields lists the top-level properties the paths read ($select).
func topFields(paths []Path) []string {
	var out []string
	for _, p := range paths {
		for _, alt := range p.alts {
			if len(alt) > 0 && !slices.Contains(out, alt[0].key) {
				out = append(out, alt[0].key)
			}
		}
	}
	return out
}
