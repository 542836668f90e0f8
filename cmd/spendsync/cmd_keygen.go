package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/crypto/ssh"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/show"
	"github.com/spendsync/spendsync/lifecycle"
)

// keygenOptions are keygen's flags.
type keygenOptions struct {
	keyType string
	bits    int
}

func (o *keygenOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.keyType, "type", "rsa", "rsa or ed25519")
	f.IntVar(&o.bits, "bits", 4096, "RSA key size: 3072 or more")
}

func newKeygenCommand(g *globals) *cobra.Command {
	var o keygenOptions
	cmd := &cobra.Command{
		Use:   "keygen FILE [--type rsa|ed25519] [--bits 4096]",
		Short: "Make an SSH key pair for the SFTP/SCP upload to Spend Cloud",
		Long: `keygen writes a private key to FILE (0600, OpenSSH format, unencrypted: the
daily run reads it unattended) and its public key to FILE.pub, refusing to
overwrite either, and prints the public key line. Spend Cloud's SCP upload
asks for an RSA key: paste the line in Spend Cloud under Application
Management > General > SCP, then set target.sftp.key_file to FILE. Pushes
sign with rsa-sha2-256 or rsa-sha2-512, never SHA-1.`,
		Example: `  spendsync keygen /etc/spendsync/id_rsa
  spendsync keygen /etc/spendsync/id_ed25519 --type ed25519   # for SFTP servers other than Spend Cloud's`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runKeygen(o, g, args) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runKeygen(o keygenOptions, g *globals, args []string) error {
	file := args[0]
	var priv crypto.Signer
	switch o.keyType {
	case "rsa":
		if o.bits < 3072 || o.bits > 16384 {
			return &usageError{fmt.Errorf("--bits %d: an RSA key for the upload has 3072 to 16384 bits", o.bits)}
		}
		k, err := rsa.GenerateKey(rand.Reader, o.bits)
		if err != nil {
			return fmt.Errorf("make an RSA key: %w", err)
		}
		priv = k
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("make an ed25519 key: %w", err)
		}
		priv = k
	default:
		return &usageError{fmt.Errorf("--type %s: rsa or ed25519", show.Quote(o.keyType))}
	}
	for _, p := range []string{file, file + ".pub"} {
		if _, err := os.Lstat(p); err == nil {
			return &usageError{fmt.Errorf("%s exists; keygen does not overwrite a key", show.Quote(p))}
		}
	}
	comment := strings.ReplaceAll(lifecycle.Actor(), " ", "_")
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return fmt.Errorf("encode the key: %w", err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return fmt.Errorf("encode the public key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " " + comment
	if err := atomicfile.WriteNew(file, pem.EncodeToMemory(block)); err != nil {
		if errors.Is(err, os.ErrExist) {
			return &usageError{fmt.Errorf("%s exists; keygen does not overwrite a key", show.Quote(file))}
		}
		return fmt.Errorf("write key: %w", err)
	}
	if err := atomicfile.WriteNew(file+".pub", []byte(line+"\n")); err != nil {
		os.Remove(file) // a private key without its public half helps nobody
		return fmt.Errorf("write public key: %w", err)
	}
	fmt.Fprintf(g.stderr, "wrote %s (private, 0600) and %s.pub; %s\n", file, file, ssh.FingerprintSHA256(pub))
	fmt.Fprintf(g.stderr, "paste the line below in Spend Cloud under Application Management > General > SCP, then set target.sftp.key_file: %s\n", file)
	fmt.Fprintln(g.stdout, line)
	return nil
}
