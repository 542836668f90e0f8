package transport

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey means the server's host key is unknown or has changed. It is
// never retried and there is no way to skip the check.
var ErrHostKey = errors.New("host key not trusted")

type sftpTarget struct {
	cfg     *SFTPConfig
	hooks   Hooks
	backoff time.Duration
}

func (t *sftpTarget) addr() string {
	return net.JoinHostPort(t.cfg.Host, strconv.Itoa(t.cfg.Port))
}

func (t *sftpTarget) Name() string {
	return fmt.Sprintf("sftp://%s@%s%s", t.cfg.User, t.addr(), path.Join("/", t.cfg.RemoteDir))
}

// session is one SSH connection with its SFTP client.
type session struct {
	ssh  *ssh.Client
	sftp *sftp.Client
}

func (s *session) Close() {
	s.sftp.Close()
	s.ssh.Close()
}

// retry runs fn up to 1+retries times with doubling backoff; a host key or
// authentication failure is final at once.
func (t *sftpTarget) retry(ctx context.Context, what string, fn func() error) error {
	wait := t.backoff
	var err error
	for attempt := 0; ; attempt++ {
		if err = fn(); err == nil || errors.Is(err, ErrHostKey) || errors.Is(err, errAuth) || errors.As(err, new(localError)) || attempt >= *t.cfg.Retries {
			return err
		}
		t.hooks.Logf("sftp: retrying", "what", what, "attempt", attempt+1, "of", *t.cfg.Retries, "in", wait.String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

var errAuth = errors.New("authentication failed")

// localError is a problem on this machine (a key file, a variable): no
// retry can fix it.
type localError struct{ error }

func (e localError) Unwrap() error { return e.error }

func (t *sftpTarget) connect(ctx context.Context) (*session, error) {
	callback, err := knownhosts.New(t.cfg.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("sftp: cannot read known_hosts %q: %w", t.cfg.KnownHosts, err)
	}
	auth, err := t.auth()
	if err != nil {
		return nil, localError{err}
	}
	addr := t.addr()
	conf := &ssh.ClientConfig{
		User:              t.cfg.User,
		Auth:              auth,
		HostKeyCallback:   checkHostKey(callback, addr),
		HostKeyAlgorithms: knownAlgorithms(callback, addr),
		Timeout:           t.cfg.Timeout,
	}
	d := net.Dialer{Timeout: t.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sftp: cannot connect to %s: %w", addr, err)
	}
	dc := &deadlineConn{Conn: conn, timeout: t.cfg.Timeout}
	c, chans, reqs, err := ssh.NewClientConn(dc, addr, conf)
	if err != nil {
		conn.Close()
		if errors.Is(err, ErrHostKey) {
			return nil, err
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("sftp: %s refused user %q: %w", addr, t.cfg.User, errAuth)
		}
		return nil, fmt.Errorf("sftp: ssh handshake with %s: %w", addr, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	sc, err := sftp.NewClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("sftp: cannot start the sftp subsystem on %s: %w", addr, err)
	}
	return &session{ssh: client, sftp: sc}, nil
}

// checkHostKey wraps the known_hosts check with a message that shows the
// offered key and says how to trust it.
func checkHostKey(cb ssh.HostKeyCallback, addr string) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		what := "is not in known_hosts"
		if errors.As(err, &ke) && len(ke.Want) > 0 {
			what = "does not match known_hosts (the key CHANGED: if nobody expected that, someone may be intercepting)"
		}
		return fmt.Errorf("sftp: the %s host key of %s, %s, %s; check the fingerprint with the server's administrator, then add the line that `spendsync hostkey %s` prints to known_hosts: %w",
			key.Type(), addr, ssh.FingerprintSHA256(key), what, addr, ErrHostKey)
	}
}

// knownAlgorithms asks for the host key types known_hosts holds for addr,
// so a server that offers several keys is checked against the one we know
// rather than refused for offering another type first.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	placeholder, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	err := cb(addr, &net.TCPAddr{IP: net.IPv4zero}, placeholder)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		switch k.Key.Type() {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algos = append(algos, k.Key.Type())
		}
	}
	return algos
}

// auth builds the configured authentication. Secrets are read here and go
// nowhere but into the SSH handshake.
func (t *sftpTarget) auth() ([]ssh.AuthMethod, error) {
	c := t.cfg
	var methods []ssh.AuthMethod
	if c.KeyFile != "" {
		if err := checkKeyMode(c.KeyFile); err != nil {
			return nil, err
		}
		pem, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("sftp: cannot read key_file: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			if c.PassphraseEnv == "" {
				return nil, fmt.Errorf("sftp: key_file %s is encrypted; set target.sftp.passphrase_env", c.KeyFile)
			}
			pass, ok := os.LookupEnv(c.PassphraseEnv)
			if !ok {
				return nil, fmt.Errorf("sftp: environment variable %s (passphrase_env) is not set", c.PassphraseEnv)
			}
			signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(pass))
			if err != nil {
				return nil, fmt.Errorf("sftp: cannot decrypt key_file %s with the passphrase from %s", c.KeyFile, c.PassphraseEnv)
			}
		} else if err != nil {
			return nil, fmt.Errorf("sftp: key_file %s is not a private key", c.KeyFile)
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	if c.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, fmt.Errorf("sftp: agent: true but SSH_AUTH_SOCK is not set")
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, fmt.Errorf("sftp: cannot reach the SSH agent: %w", err)
		}
		methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	var password string
	switch {
	case c.PasswordEnv != "":
		v, ok := os.LookupEnv(c.PasswordEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("sftp: environment variable %s (password_env) is not set", c.PasswordEnv)
		}
		password = v
	case c.PasswordFile != "":
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("sftp: cannot read password_file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if password != "" {
		methods = append(methods, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	return methods, nil
}

func (t *sftpTarget) Check(ctx context.Context) error {
	return t.retry(ctx, "check", func() error {
		s, err := t.connect(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		fi, err := s.sftp.Stat(t.cfg.RemoteDir)
		if err != nil {
			return fmt.Errorf("sftp: cannot stat remote_dir %q: %w", t.cfg.RemoteDir, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("sftp: remote_dir %q is not a folder", t.cfg.RemoteDir)
		}
		if _, err := s.sftp.ReadDir(t.cfg.RemoteDir); err != nil {
			return fmt.Errorf("sftp: cannot list remote_dir %q: %w", t.cfg.RemoteDir, err)
		}
		return nil
	})
}

func (t *sftpTarget) Deliver(ctx context.Context, id string, files []File) ([]Delivered, error) {
	err := t.retry(ctx, "deliver", func() error {
		s, err := t.connect(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		return t.deliver(s, id, files)
	})
	if err != nil {
		return nil, err
	}
	return describe(files), nil
}

func (t *sftpTarget) Clean(ctx context.Context) ([]string, error) {
	var removed []string
	err := t.retry(ctx, "clean", func() error {
		s, err := t.connect(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		r, err := t.clean(s)
		removed = append(removed, r...)
		return err
	})
	return removed, err
}

// clean removes leftover temporary files of ours from the drop.
func (t *sftpTarget) clean(s *session) ([]string, error) {
	dir := t.cfg.RemoteDir
	entries, err := s.sftp.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("sftp: cannot list remote_dir %q: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		if e.Mode().IsRegular() && isTemp(e.Name()) {
			if err := s.sftp.Remove(path.Join(dir, e.Name())); err != nil {
				return removed, fmt.Errorf("sftp: cannot remove leftover %q: %w", path.Join(dir, e.Name()), bare(err))
			}
			removed = append(removed, e.Name())
			t.hooks.Logf("sftp: removed leftover temporary file", "file", path.Join(dir, e.Name()))
		}
	}
	return removed, nil
}

func (t *sftpTarget) deliver(s *session, id string, files []File) error {
	dir := t.cfg.RemoteDir
	if _, err := t.clean(s); err != nil {
		return err
	}
	// Upload every file to its temporary name first, then rename them in
	// order: a failure while uploading changes nothing under a final name.
	var temps []string
	for _, f := range files {
		tmp := path.Join(dir, tempName(f.Name, id))
		if err := upload(s.sftp, tmp, f.Data, t.hooks.progress(f)); err != nil {
			s.sftp.Remove(tmp)
			for _, t := range temps {
				s.sftp.Remove(t)
			}
			return err
		}
		temps = append(temps, tmp)
	}
	// A rename that must fail (a folder squatting on a final name) is found
	// before the first rename, so the set is never half replaced by it.
	for _, f := range files {
		if fi, err := s.sftp.Stat(path.Join(dir, f.Name)); err == nil && fi.IsDir() {
			for _, t := range temps {
				s.sftp.Remove(t)
			}
			return fmt.Errorf("sftp: %q is a folder on the server; cannot deliver %s", path.Join(dir, f.Name), f.Name)
		}
	}
	_, posix := s.sftp.HasExtension("posix-rename@openssh.com")
	var err error
	for i, f := range files {
		final := path.Join(dir, f.Name)
		if posix {
			err = s.sftp.PosixRename(temps[i], final)
		} else {
			// Plain SFTP rename refuses to replace: remove first. The gap
			// is the best a server without posix-rename allows.
			if rerr := s.sftp.Remove(final); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = rerr
			} else {
				err = s.sftp.Rename(temps[i], final)
			}
		}
		if err != nil {
			return fmt.Errorf("sftp: cannot rename %q to %q: %w", temps[i], final, bare(err))
		}
	}
	return nil
}

// bare drops the operation and path an *os.PathError repeats (pkg/sftp's
// Remove returns one), so a message names the file once.
func bare(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// upload writes data to a new remote file and checks its size after close.
func upload(c *sftp.Client, name string, data []byte, progress io.Writer) error {
	f, err := c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("sftp: cannot create %q: %w", name, err)
	}
	var r io.Reader = bytes.NewReader(data)
	if progress != io.Discard {
		r = io.TeeReader(r, progress) // costs pkg/sftp's concurrent fast path: terminals only
	}
	if _, err := f.ReadFrom(r); err != nil {
		f.Close()
		return fmt.Errorf("sftp: cannot write %q: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sftp: cannot close %q: %w", name, err)
	}
	fi, err := c.Stat(name)
	if err != nil {
		return fmt.Errorf("sftp: cannot stat %q: %w", name, err)
	}
	if fi.Size() != int64(len(data)) {
		return fmt.Errorf("sftp: %q has %d bytes after upload, want %d", name, fi.Size(), len(data))
	}
	return nil
}

// deadlineConn fails a read or write that makes no progress within
// timeout, so a stalled server cannot hang a cron job.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}
