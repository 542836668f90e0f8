package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCommand generates man pages (make man); hidden from users.
func newManCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write man pages for every command into DIR",
		Hidden: true,
		Args:   exactArgs(1),
		RunE:   func(cmd *cobra.Command, args []string) error { return runMan(cmd.Root(), g, args) },
	}
}

// runMan writes the pages of root's tree into args[0].
func runMan(root *cobra.Command, g *globals, args []string) error {
	if err := os.MkdirAll(args[0], 0o755); err != nil {
		return fmt.Errorf("create man page folder: %w", err)
	}
	root.DisableAutoGenTag = true
	if err := genManTree(root, args[0]); err != nil {
		return fmt.Errorf("generate man pages: %w", err)
	}
	fmt.Fprintf(g.stdout, "man pages in %s\n", args[0])
	return nil
}

// genManTree writes one page per available command, as doc.GenManTree does,
// with the sections cobra does not know about (EXIT STATUS, ENVIRONMENT,
// FILES) before SEE ALSO.
func genManTree(cmd *cobra.Command, dir string) error {
	for _, c := range cmd.Commands() {
		if !c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
			continue
		}
		if err := genManTree(c, dir); err != nil {
			return err
		}
	}
	var page bytes.Buffer
	if err := doc.GenMan(cmd, &doc.GenManHeader{Title: "SPENDSYNC", Section: "1", Source: "spendsync"}, &page); err != nil {
		return err
	}
	text := page.String()
	if i := strings.Index(text, "\n.SH SEE ALSO"); i >= 0 {
		text = text[:i+1] + manSections + text[i+1:]
	} else {
		text += manSections
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-") + ".1"
	return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
}

// manSections are the same on every page: exit codes, environment and
// files apply to all commands. Written in roff, as md2man renders the rest.
const manSections = `.SH EXIT STATUS
.TP
.B 0
Done.
.TP
.B 1
Failed: I/O, database, transport, a malformed source file. Nothing half\-done is left visible.
.TP
.B 2
Usage or configuration error; the message names the flag or the configuration key path.
.TP
.B 3
Safety stop: an empty, stale or shrunken source, too many removals or rejects, or
\fBstatus \-\-max\-age\fR exceeded. Nothing changed; \fB\-\-force\fR overrides once and is recorded.
.TP
.B 4
Another spendsync holds the writer lock on this database.
.TP
.B 5
Done, with findings: rows were rejected (see \fBspendsync rejects\fR), or a username change was held (see \fBspendsync status\fR).
.PP
\fBrun\fR exits with its worst stage: 1 over 3 over 5 over 0.
.SH ENVIRONMENT
.TP
.B SPENDSYNC_CONFIG
The configuration file when \fB\-\-config\fR is not given (default \fIspendsync.yaml\fR in the working folder).
.TP
.B ${VAR}
Any variable named as \fB${VAR}\fR in a configuration value is expanded; an unset one is a configuration error.
Secrets are read from the variables that keys ending in \fB_env\fR name
(\fBpassword_env\fR, \fBpassphrase_env\fR, \fBtoken_env\fR, \fBclient_secret_env\fR).
.TP
.B SSH_AUTH_SOCK
The SSH agent used by \fBtarget.sftp.agent: true\fR.
.TP
.B HTTPS_PROXY\fR, \fBNO_PROXY
The proxy for pulls from an HR system's API (\fBapi:\fR sources), as Go's HTTP client reads them.
.SH FILES
.TP
.I spendsync.yaml
The configuration (\fBspendsync init\fR writes a commented sample). Relative paths in it are taken relative to its folder.
.TP
.I database
The SQLite state that \fBdatabase\fR names: persons, contracts, the event log, rejects, runs and deliveries; 0600.
\fIdatabase\fB.lock\fR beside it admits one writer at a time and holds its pid.
.TP
.I export.dir
The latest dump (\fIpersons.csv\fR, \fIroles.csv\fR, \fIexport.json\fR) and \fIhistory/<export id>/\fR with earlier ones.
.TP
.I responses/
Beside the database: the pages an \fBapi:\fR source pulled, when \fBkeep_responses\fR is on (0600; pruned with \fBretention.events\fR).
.TP
.I known_hosts
The SFTP server keys to trust (\fBtarget.sftp.known_hosts\fR); \fBspendsync hostkey\fR prints the line to add.
.TP
.I metrics
The Prometheus textfile that \fBmetrics\fR names, rewritten after every command that records a run.
`
