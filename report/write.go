package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"reflect"
	"strings"

	"github.com/gocarina/gocsv"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The bars' fill colours: the browser test counts a chart's bars by them.
var (
	BarColor   = color.RGBA{0x1f, 0x5f, 0x99, 0xff} // #1f5f99
	LeaveColor = color.RGBA{0xb2, 0x3a, 0x2e, 0xff} // #b23a2e
)

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes each table as a block: a line naming it, its header and
// rows, then an empty line.
func (r *Report) WriteCSV(w io.Writer) error {
	tables := []struct {
		name string
		rows any
	}{{"summary", r.Summary}, {"months", r.Months}, {"roles", r.Roles}, {"time_to_revoke", r.Revoke},
		{"slowest", r.Slowest}, {"open", r.Open}, {"actions", r.Actions}, {"held", r.Held},
		{"deliveries", r.Deliveries}, {"unverified_domains", r.Unverified}, {"without_role", r.WithoutRole}, {"notes", r.Notes}}
	if _, err := fmt.Fprintf(w, "report,%s,%s\n\n", r.From, r.To); err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := fmt.Fprintf(w, "table,%s\n", t.name); err != nil {
			return err
		}
		var b bytes.Buffer
		if err := gocsv.Marshal(guarded(t.rows), &b); err != nil {
			return fmt.Errorf("csv %s: %w", t.name, err)
		}
		b.WriteString("\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// guarded copies a table (a slice of structs) with every text cell that a
// spreadsheet would run as a formula (=, +, -, @, tab, CR first) prefixed
// with ', as export's formula_guard does: an auditor opens this CSV in
// Excel, and its texts come from HR files and from users.
func guarded(rows any) any {
	v := reflect.ValueOf(rows)
	out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	reflect.Copy(out, v)
	for i := range out.Len() {
		row := out.Index(i)
		for f := range row.NumField() {
			if c := row.Field(f); c.Kind() == reflect.String && c.Len() > 0 && strings.ContainsRune("=+-@\t\r", rune(c.String()[0])) {
				c.SetString("'" + c.String())
			}
		}
	}
	return out.Interface()
}

// barChart draws one or two series of bars as an inline SVG element.
func barChart(title string, labels []string, all []series) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Min = 0
	width := vg.Points(18)
	if len(all) > 1 {
		width = vg.Points(9)
	}
	for i, s := range all {
		bars, err := plotter.NewBarChart(plotter.Values(s.values), width)
		if err != nil {
			return "", fmt.Errorf("chart %s: %w", title, err)
		}
		bars.Color = s.fill
		bars.LineStyle.Width = 0
		if len(all) > 1 {
			bars.Offset = vg.Length(float64(i)-0.5) * width
			p.Legend.Add(s.name, bars)
		}
		p.Add(bars)
	}
	p.Legend.Top = true
	p.NominalX(labels...)
	c := vgsvg.NewWith(vgsvg.UseWH(16*vg.Centimeter, 7*vg.Centimeter))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("chart %s: %w", title, err)
	}
	svg := b.String()
	// Inline in HTML: drop the XML prolog and doctype before <svg.
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:]
	}
	return template.HTML(svg), nil // #nosec: gonum's SVG of our own numbers and labels (escaped by gonum)
}

type series = struct {
	name   string
	values []float64
	fill   color.Color
}

// WriteHTML writes the report as one self-contained page.
func (r *Report) WriteHTML(w io.Writer) error {
	labels := make([]string, len(r.Revoke))
	values := make([]float64, len(r.Revoke))
	for i, b := range r.Revoke {
		labels[i], values[i] = b.Days, float64(b.Leavers)
	}
	revoke, err := barChart("Leavers by days from HR end date to delivery", labels, []series{{"leavers", values, BarColor}})
	if err != nil {
		return err
	}
	var months template.HTML
	if len(r.Months) > 0 {
		ml := make([]string, len(r.Months))
		joiners, leavers := make([]float64, len(r.Months)), make([]float64, len(r.Months))
		for i, m := range r.Months {
			ml[i], joiners[i], leavers[i] = m.Month, float64(m.Joiners), float64(m.Leavers)
		}
		if months, err = barChart("Joiners and leavers per month", ml,
			[]series{{"joiners", joiners, BarColor}, {"leavers", leavers, LeaveColor}}); err != nil {
			return err
		}
	}
	return page.Execute(w, struct {
		*Report
		RevokeChart, MonthChart template.HTML
	}{r, revoke, months})
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"days": func(d int) string {
		if d < 0 {
			return "open"
		}
		return fmt.Sprint(d)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>spendsync access report {{.From}} to {{.To}}</title>
<style>
body { font-family: sans-serif; font-size: 10pt; margin: 2em; color: #111; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; margin-top: 1.6em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.h { font-family: monospace; font-size: 8pt; word-break: break-all; }
.none { color: #555; font-style: italic; }
figure { margin: 0.5em 0; } svg { max-width: 100%; height: auto; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; font-size: 8.5pt; }
  h2 { break-after: avoid; } tr, figure { break-inside: avoid; }
  table { width: 100%; } thead { display: table-header-group; }
}
</style></head><body>
<h1>Spend Cloud access report</h1>
<p>Period {{.From}} to {{.To}} (UTC days, both included). Generated {{.Generated}} by spendsync.</p>
{{if .Empty}}<p id="empty" class="none">No events in this period: nothing was joined, removed, overridden or delivered.</p>{{end}}

<h2>Summary</h2>
<table id="summary"><thead><tr><th>measure</th><th>value</th></tr></thead><tbody>
{{range .Summary}}<tr><td>{{.Measure}}</td><td class="n">{{.Value}}</td></tr>
{{end}}</tbody></table>

<h2>Accounts per month</h2>
{{if .MonthChart}}<figure id="chart-months">{{.MonthChart}}</figure>{{end}}
<table id="months"><thead><tr><th>month</th><th>joiners</th><th>leavers</th><th>role grants</th><th>role revokes</th><th>accounts at month end</th></tr></thead><tbody>
{{range .Months}}<tr><td>{{.Month}}</td><td class="n">{{.Joiners}}</td><td class="n">{{.Leavers}}</td><td class="n">{{.Grants}}</td><td class="n">{{.Revokes}}</td><td class="n">{{.Accounts}}</td></tr>
{{else}}<tr><td colspan="6" class="none">none</td></tr>
{{end}}</tbody></table>

<h2>Role profiles per month</h2>
<table id="roles"><thead><tr><th>month</th><th>role profile</th><th>grants</th><th>revokes</th></tr></thead><tbody>
{{range .Roles}}<tr><td>{{.Month}}</td><td>{{.Role}}</td><td class="n">{{.Grants}}</td><td class="n">{{.Revokes}}</td></tr>
{{else}}<tr><td colspan="4" class="none">none</td></tr>
{{end}}</tbody></table>

<h2>Time to revoke</h2>
<p>Days from the HR end date (where HR gave none: the ingest that saw the leave) to the first delivery of the dump without the account. Where target.scim is configured, the leaver's suspension at Visma Connect is listed beside it.</p>
<figure id="chart-revoke">{{.RevokeChart}}</figure>
<table id="revoke"><thead><tr><th>days</th><th>leavers</th></tr></thead><tbody>
{{range .Revoke}}<tr><td>{{.Days}}</td><td class="n">{{.Leavers}}</td></tr>
{{end}}</tbody></table>
{{define "leavers"}}<thead><tr><th>employee</th><th>HR end date</th><th>leave seen</th><th>removed</th><th>export</th><th>delivered</th><th>to</th><th>days</th><th>suspended in Connect</th></tr></thead><tbody>
{{range .}}<tr><td>{{.EmployeeNumber}}</td><td>{{.HREndDate}}</td><td>{{.LeftSeen}}</td><td>{{.Removed}}</td><td>{{.ExportID}}</td><td>{{.Delivered}}</td><td>{{.Target}}</td><td class="n">{{days .Days}}</td><td>{{.Suspended}}</td></tr>
{{else}}<tr><td colspan="9" class="none">none</td></tr>
{{end}}</tbody>{{end}}
<h3>The ten slowest</h3>
<table id="slowest">{{template "leavers" .Slowest}}</table>
<h3>Still open at the end of the period</h3>
<table id="open">{{template "leavers" .Open}}</table>

<h2>Overrides, manual actions and safety stops</h2>
{{define "actions"}}<thead><tr><th>time</th><th>what</th><th>actor</th><th>employee</th><th>reason</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Time}}</td><td>{{.Kind}}</td><td>{{.Actor}}</td><td>{{.EmployeeNumber}}</td><td>{{.Reason}}</td></tr>
{{else}}<tr><td colspan="5" class="none">none</td></tr>
{{end}}</tbody>{{end}}
<table id="actions">{{template "actions" .Actions}}</table>
<h3>Persons held back</h3>
<table id="held">{{template "actions" .Held}}</table>

<h2>Deliveries</h2>
<table id="deliveries"><thead><tr><th>time</th><th>to</th><th>export</th><th>ok</th><th>file</th><th>bytes</th><th>SHA-256</th></tr></thead><tbody>
{{range .Deliveries}}<tr><td>{{.Time}}</td><td>{{.Target}}</td><td>{{.ExportID}}</td><td>{{if .OK}}yes{{else}}no{{end}}</td><td>{{.File}}</td><td class="n">{{.Size}}</td><td class="h">{{.SHA256}}</td></tr>
{{else}}<tr><td colspan="7" class="none">none</td></tr>
{{end}}</tbody></table>

<h2>Accounts at the end of the period</h2>
{{define "accounts"}}<thead><tr><th>employee</th><th>email</th><th>roles</th></tr></thead><tbody>
{{range .}}<tr><td>{{.EmployeeNumber}}</td><td>{{.Email}}</td><td class="n">{{.Roles}}</td></tr>
{{else}}<tr><td colspan="3" class="none">none</td></tr>
{{end}}</tbody>{{end}}
<h3>On an unverified email domain (rules.verified_domains)</h3>
<table id="unverified">{{template "accounts" .Unverified}}</table>
<h3>Without a role</h3>
<table id="without-role">{{template "accounts" .WithoutRole}}</table>

<h2>Notes</h2>
<ul>{{range .Notes}}<li>{{.Note}}</li>{{end}}</ul>
</body></html>
`))
