package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/transport"
)

// hostkeyOptions are hostkey's flags.
type hostkeyOptions struct {
	timeout time.Duration
}

func (o *hostkeyOptions) addFlags(f *pflag.FlagSet) {
	o.timeout = 10 * time.Second
	f.Var(durationFlag{&o.timeout}, "timeout", "connect timeout")
}

func newHostkeyCommand(g *globals) *cobra.Command {
	var o hostkeyOptions
	cmd := &cobra.Command{
		Use:   "hostkey HOST[:PORT]",
		Short: "Print a server's host keys and ready known_hosts lines; trusts nothing",
		Long: `hostkey connects to HOST (port 22 unless given) and prints each host key the
server offers: its type, SHA256 fingerprint and a known_hosts line. Compare
the fingerprint with what the server's administrator gives you before
adding the line to target.sftp.known_hosts: this command cannot tell a real
server from an impostor.`,
		Example: `  spendsync hostkey sftp.example.nl
  spendsync hostkey sftp.example.nl:2222 >> /etc/spendsync/known_hosts   # after checking the fingerprint`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runHostkey(cmd.Context(), o, g, args) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runHostkey(ctx context.Context, o hostkeyOptions, g *globals, args []string) error {
	addr := args[0]
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "22")
	}
	keys, err := transport.ScanHostKeys(ctx, addr, o.timeout)
	if err != nil {
		return err
	}
	for _, k := range keys {
		fmt.Fprintf(g.stderr, "%s %s\n", k.Type, k.Fingerprint)
		fmt.Fprintln(g.stdout, k.KnownHosts)
	}
	return nil
}
