package transport

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/spendsync/spendsync/internal/show"
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
	ssh     *ssh.Client
	sftp    *sftp.Client
	unwatch func() bool // stops closing the connection when the context ends
}

func (s *session) Close() {
	s.unwatch()
	s.sftp.Close()
	s.ssh.Close()
}

// grace is how long a session outlives its context: long enough to stop
// an upload and remove its temporary file, or to finish or undo the
// renames of a set, and well within the 5 s a signal may take.
const grace = 2 * time.Second

// errDeadline is the cause of a push stopped by target.sftp.deadline.
var errDeadline = errors.New("deadline")

// bound limits ctx to target.sftp.deadline.
func (t *sftpTarget) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, t.cfg.Deadline, errDeadline)
}

// stopped says why err happened when ctx ended: the deadline is named by
// its key; a signal's context.Canceled is left for the caller to explain.
func (t *sftpTarget) stopped(ctx context.Context, what string, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errDeadline) {
		return &deadlineError{what: what, d: t.cfg.Deadline, err: err}
	}
	return err
}

// deadlineError is a push, check or clean-up stopped by its deadline.
type deadlineError struct {
	what string
	d    time.Duration
	err  error
}

func (e *deadlineError) Error() string {
	return fmt.Sprintf("sftp: %s took longer than target.sftp.deadline (%s) and was stopped: %s", e.what, e.d, strings.TrimPrefix(e.err.Error(), "sftp: "))
}

func (e *deadlineError) Unwrap() error { return e.err }

// retry runs fn up to 1+retries times with doubling backoff; a host key or
// authentication failure is final at once.
func (t *sftpTarget) retry(ctx context.Context, what string, fn func() error) error {
	wait := t.backoff
	var err error
	for attempt := 0; ; attempt++ {
		if err = fn(); err == nil || errors.Is(err, ErrHostKey) || errors.Is(err, errAuth) || errors.As(err, new(localError)) || attempt >= *t.cfg.Retries || ctx.Err() != nil {
			return err
		}
		t.hooks.Logf("sftp: retrying", "what", what, "attempt", attempt+1, "of", *t.cfg.Retries, "in", wait.String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (before retrying after: %w)", ctx.Err(), err)
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
	addr := t.addr()
	callback, err := knownhosts.New(t.cfg.KnownHosts)
	if errors.Is(err, fs.ErrNotExist) {
		// A configuration problem: no retry makes the file appear.
		return nil, localError{fmt.Errorf("sftp: known_hosts %s does not exist: check the server's fingerprint with its administrator, then write it with `spendsync hostkey %s > %s`",
			show.Quote(t.cfg.KnownHosts), addr, t.cfg.KnownHosts)}
	}
	if err != nil {
		return nil, localError{fmt.Errorf("sftp: cannot read known_hosts %s: %w", show.Quote(t.cfg.KnownHosts), err)}
	}
	auth, err := t.auth()
	if err != nil {
		return nil, localError{err}
	}
	var hostKeyErr error // the refusal itself, not ssh's wrapping of it
	check := checkHostKey(callback, addr, t.cfg.KnownHosts)
	conf := &ssh.ClientConfig{
		User: t.cfg.User,
		Auth: auth,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			hostKeyErr = check(hostname, remote, key)
			return hostKeyErr
		},
		HostKeyAlgorithms: knownAlgorithms(callback, addr),
		Timeout:           t.cfg.Timeout,
	}
	d := net.Dialer{Timeout: t.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sftp: cannot connect to %s: %w", addr, err)
	}
	// The handshake reads and writes through the connection, and a server
	// that trickles a byte now and then never trips the per-read timeout:
	// closing the connection when ctx ends is what stops it.
	closeNow := context.AfterFunc(ctx, func() { conn.Close() })
	dc := &deadlineConn{Conn: conn, timeout: t.cfg.Timeout}
	c, chans, reqs, err := ssh.NewClientConn(dc, addr, conf)
	if !closeNow() && err == nil {
		c.Close()
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sftp: ssh handshake with %s: %w", addr, ctx.Err())
		}
		if hostKeyErr != nil {
			return nil, hostKeyErr
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("sftp: %s refused user %q: %w", addr, t.cfg.User, errAuth)
		}
		return nil, fmt.Errorf("sftp: ssh handshake with %s: %w", addr, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	// From here on the session outlives ctx by grace, so a stopped upload
	// can remove its temporary file and a set of renames can finish or be
	// undone; then the connection is closed whatever it is doing.
	unwatch := context.AfterFunc(ctx, func() { time.AfterFunc(grace, func() { client.Close() }) })
	sc, err := sftp.NewClient(client)
	if err != nil {
		unwatch()
		client.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("sftp: cannot start the sftp subsystem on %s: %w", addr, err)
	}
	return &session{ssh: client, sftp: sc, unwatch: unwatch}, nil
}

// checkHostKey wraps the known_hosts check with a message that shows the
// offered key and says how to trust it: add a line for a new server,
// replace the line for a changed key.
func checkHostKey(cb ssh.HostKeyCallback, addr, file string) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) && len(ke.Want) > 0 {
			return fmt.Errorf("sftp: the %s host key of %s, %s, does not match known_hosts: the key CHANGED, and if nobody expected that someone may be intercepting; "+
				"only once the server's administrator confirms the new fingerprint, replace the line for %s in %s with the one `spendsync hostkey %s` prints: %w",
				key.Type(), addr, ssh.FingerprintSHA256(key), addr, file, addr, ErrHostKey)
		}
		hint := ""
		if host, port, _ := net.SplitHostPort(addr); port != "22" && portless(file, host) {
			hint = fmt.Sprintf(" (%s has a line for %s without a port, which counts for port 22 only: for port %s the line starts with [%s]:%s)", file, host, port, host, port)
		}
		return fmt.Errorf("sftp: the %s host key of %s, %s, is not in known_hosts%s; check the fingerprint with the server's administrator, then add the line that `spendsync hostkey %s` prints to %s: %w",
			key.Type(), addr, ssh.FingerprintSHA256(key), hint, addr, file, ErrHostKey)
	}
}

// portless reports whether known_hosts has a plain (unhashed) line for host
// without a port.
func portless(file, host string) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		hosts, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if slices.Contains(strings.Split(hosts, ","), host) {
			return true
		}
	}
	return false
}

// modernHostKeys are the host key types asked for when known_hosts holds
// none for the server, best first, so a refusal names the key an
// administrator would publish (ed25519) rather than whatever the library
// lists first. SHA-1 ssh-rsa signatures are never asked for.
var modernHostKeys = []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}

// knownAlgorithms asks for the host key types known_hosts holds for addr,
// so a server that offers several keys is checked against the one we know
// rather than refused for offering another type first.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	placeholder, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	err := cb(addr, &net.TCPAddr{IP: net.IPv4zero}, placeholder)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		return modernHostKeys
	}
	var algos []string
	for _, k := range ke.Want {
		switch k.Key.Type() {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
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
	ctx, cancel := t.bound(ctx)
	defer cancel()
	err := t.retry(ctx, "check", func() error {
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
	return t.stopped(ctx, "the check", err)
}

// Deliver uploads the files and renames them into place in the given
// order. When an attempt fails after the first rename and cannot put the
// previous files back (the connection was lost), the next attempt, or one
// more connection when no attempt is left, puts them back first.
func (t *sftpTarget) Deliver(ctx context.Context, id string, files []File) ([]Delivered, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	var broken *commit
	err := t.retry(ctx, "deliver", func() error {
		s, err := t.connect(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		if broken != nil {
			if err := t.undo(s, broken); err != nil {
				return err
			}
			broken = nil
		}
		c, err := t.deliver(ctx, s, id, files)
		if c != nil && c.broken != nil {
			broken = c
		}
		return err
	})
	if broken != nil {
		err = t.lastUndo(ctx, broken, err)
	}
	if err != nil {
		return nil, t.stopped(ctx, "the push", err)
	}
	return describe(files), nil
}

// undo puts back what a failed attempt left half replaced.
func (t *sftpTarget) undo(s *session, c *commit) error {
	if err := c.undo(t.drop(s)); err != nil {
		return fmt.Errorf("sftp: cannot put back the previous files after a failed delivery: %w", err)
	}
	t.hooks.Logf("sftp: put back the previous files after a failed delivery", "target", t.Name())
	return nil
}

// lastUndo makes one more connection to put back the previous files when
// no attempt is left to do it; err is the delivery's error.
func (t *sftpTarget) lastUndo(ctx context.Context, c *commit, err error) error {
	half := fmt.Errorf("%w; the drop may hold some new files beside old ones until the next delivery: %w", err, c.broken)
	if ctx.Err() != nil {
		return half // no time left to connect again
	}
	s, cerr := t.connect(ctx)
	if cerr != nil {
		return half
	}
	defer s.Close()
	if t.undo(s, c) != nil {
		return half
	}
	return fmt.Errorf("%w (the drop holds the files it held before: they were put back over a new connection)", err)
}

func (t *sftpTarget) Clean(ctx context.Context) ([]string, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
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
	return removed, t.stopped(ctx, "the clean-up", err)
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
			if err := s.sftp.Remove(path.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return removed, fmt.Errorf("sftp: cannot remove leftover %q: %w", path.Join(dir, e.Name()), bare(err))
			}
			removed = append(removed, e.Name())
			t.hooks.Logf("sftp: removed leftover temporary file", "file", path.Join(dir, e.Name()))
		}
	}
	return removed, nil
}

// deliver is one attempt: upload every file to its temporary name, then
// rename the set into place. It returns the commit once renaming started.
func (t *sftpTarget) deliver(ctx context.Context, s *session, id string, files []File) (*commit, error) {
	dir := t.cfg.RemoteDir
	if _, err := t.clean(s); err != nil {
		return nil, err
	}
	// Upload every file to its temporary name first: a failure (or a
	// signal) while uploading changes nothing under a final name.
	var temps []string
	removeTemps := func() {
		for _, tmp := range temps {
			s.sftp.Remove(tmp)
		}
	}
	chmod := &chmodOnce{mode: t.cfg.mode(), logf: t.hooks.Logf}
	for _, f := range files {
		tmp := path.Join(dir, tempName(f.Name, id))
		temps = append(temps, tmp)
		if err := upload(ctx, s.sftp, tmp, f, t.hooks.progress(f), chmod); err != nil {
			removeTemps()
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		removeTemps()
		return nil, err
	}
	c := newCommit(files, id, func(f File) string { return path.Join(dir, tempName(f.Name, id)) }, func(name string) string { return path.Join(dir, name) })
	if err := c.run(t.drop(s)); err != nil {
		if c.broken != nil {
			return c, fmt.Errorf("sftp: %w", err)
		}
		return c, fmt.Errorf("sftp: %w (the drop holds the files it held before)", err)
	}
	return c, nil
}

// sftpDrop is the remote folder as a drop; paths are remote paths.
type sftpDrop struct {
	c            *sftp.Client
	posix, links bool // posix-rename@openssh.com, hardlink@openssh.com
}

func (t *sftpTarget) drop(s *session) sftpDrop {
	_, posix := s.sftp.HasExtension("posix-rename@openssh.com")
	_, links := s.sftp.HasExtension("hardlink@openssh.com")
	return sftpDrop{c: s.sftp, posix: posix, links: links}
}

func (d sftpDrop) stat(name string) (bool, error) {
	fi, err := d.c.Lstat(name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cannot stat %q: %w", name, bare(err))
	case fi.IsDir():
		return false, fmt.Errorf("%q is a folder on the server; cannot deliver %s", name, path.Base(name))
	}
	return true, nil
}

func (d sftpDrop) link(oldname, newname string) error {
	if !d.links {
		return errors.ErrUnsupported
	}
	if err := d.c.Link(oldname, newname); err != nil {
		return err
	}
	// rclone's server answers success even where its backend made no
	// link, and then lists one: only a link that can be read keeps the
	// previous file.
	f, err := d.c.Open(newname)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func (d sftpDrop) replace(oldname, newname string) error {
	var err error
	if d.posix {
		err = d.c.PosixRename(oldname, newname)
	} else {
		// Plain SFTP rename refuses to replace: remove first. The gap
		// is the best a server without posix-rename allows.
		if err = d.c.Remove(newname); err == nil || errors.Is(err, os.ErrNotExist) {
			err = d.c.Rename(oldname, newname)
		}
	}
	if err != nil {
		return fmt.Errorf("cannot rename %q to %q: %w", oldname, newname, bare(err))
	}
	return nil
}

func (d sftpDrop) remove(name string) error {
	if err := d.c.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot remove %q: %w", name, bare(err))
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

// chmodOnce sets the configured mode on each uploaded file; a server
// that refuses is logged once per delivery and not an error.
type chmodOnce struct {
	mode    os.FileMode
	logf    func(msg string, args ...any)
	refused bool
}

func (c *chmodOnce) set(sc *sftp.Client, name string) {
	if err := sc.Chmod(name, c.mode); err != nil && !c.refused {
		c.refused = true
		c.logf("sftp: the server refused to set the mode of the delivered files (target.sftp.file_mode); they keep the server's default",
			"file", name, "mode", fmt.Sprintf("%04o", c.mode), "error", show.Text(bare(err).Error()))
	}
}

// upload streams the local file f to a new remote file, with its mode set
// before any byte is written, and checks what it sent against f and the
// remote size after close. A ctx that ends stops the upload.
func upload(ctx context.Context, c *sftp.Client, name string, f File, progress io.Writer, chmod *chmodOnce) error {
	src, err := openSource(f)
	if err != nil {
		return localError{fmt.Errorf("sftp: cannot read %q: %w", f.Name, err)}
	}
	defer src.Close()
	rf, err := c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("sftp: cannot create %q: %w", name, err)
	}
	chmod.set(c, name)
	var r io.Reader = ctxReader{ctx, src}
	if progress != io.Discard {
		r = io.TeeReader(r, progress) // costs pkg/sftp's concurrent fast path: terminals only
	}
	if _, err := rf.ReadFrom(r); err != nil {
		rf.Close()
		return fmt.Errorf("sftp: cannot write %q: %w", name, err)
	}
	if err := rf.Close(); err != nil {
		return fmt.Errorf("sftp: cannot close %q: %w", name, err)
	}
	// The caller removes the temporary file; a retry would read the same
	// changed file again.
	if err := src.check(); err != nil {
		return localError{fmt.Errorf("sftp: %w", err)}
	}
	fi, err := c.Stat(name)
	if err != nil {
		return fmt.Errorf("sftp: cannot stat %q: %w", name, err)
	}
	if fi.Size() != f.Size {
		return fmt.Errorf("sftp: %q has %d bytes after upload, want %d", name, fi.Size(), f.Size)
	}
	return nil
}

// ctxReader stops reading when ctx ends. Len keeps pkg/sftp's view of
// the size, as the source alone gives it.
type ctxReader struct {
	ctx context.Context
	r   *source
}

func (r ctxReader) Len() int { return r.r.Len() }

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
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
