package main

import (
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/transport"
)

func newHostkeyCommand(g *globals) *cobra.Command {
	var timeout time.Duration
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
		RunE: func(cmd *cobra.Command, args []string) error {
			addr := args[0]
			if _, _, err := net.SplitHostPort(addr); err != nil {
				addr = net.JoinHostPort(addr, "22")
			}
			keys, err := transport.ScanHostKeys(cmd.Context(), addr, timeout)
			if err != nil {
				return err
			}
			for _, k := range keys {
				fmt.Fprintf(g.stderr, "%s %s\n", k.Type, k.Fingerprint)
				fmt.Fprintln(g.stdout, k.KnownHosts)
			}
			return nil
		},
	}
	timeout = 10 * time.Second
	cmd.Flags().Var(durationFlag{&timeout}, "timeout", "connect timeout")
	return cmd
}
