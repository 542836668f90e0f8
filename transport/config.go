package transport

import (
	"os"
	"strconv"
	"time"

	"github.com/spendsync/spendsync/connect"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/show"
)

// Config is the target: section; exactly one of SFTP and Dir is set.
type Config struct {
	SFTP *SFTPConfig `yaml:"sftp"`
	Dir  *DirConfig  `yaml:"dir"`
	// SCIM is told of access changes beside the drop (connect/); it is
	// not a drop: Configured ignores it.
	SCIM *connect.Config `yaml:"scim"`
}

// SFTPConfig is an SFTP drop.
type SFTPConfig struct {
	Host          string        `yaml:"host"`
	Port          int           `yaml:"port"`
	User          string        `yaml:"user"`
	KeyFile       string        `yaml:"key_file"`
	PassphraseEnv string        `yaml:"passphrase_env"`
	PasswordEnv   string        `yaml:"password_env"`
	PasswordFile  string        `yaml:"password_file"`
	Agent         bool          `yaml:"agent"`
	KnownHosts    string        `yaml:"known_hosts"`
	RemoteDir     string        `yaml:"remote_dir"`
	Timeout       time.Duration `yaml:"timeout"`
	Retries       *int          `yaml:"retries"`
	Deadline      time.Duration `yaml:"deadline"`  // the whole push, retries included
	FileMode      string        `yaml:"file_mode"` // octal, e.g. "0640"
}

// DefaultDeadline bounds a whole push when target.sftp.deadline is unset.
const DefaultDeadline = 10 * time.Minute

// DefaultFileMode is the mode delivered files get when
// target.sftp.file_mode is unset: they hold personal data.
const DefaultFileMode = "0600"

// mode is FileMode as a file mode; Validate has checked it.
func (s *SFTPConfig) mode() os.FileMode {
	m, _ := strconv.ParseUint(s.FileMode, 8, 32)
	return os.FileMode(m)
}

// DirConfig is a local or mounted drop folder.
type DirConfig struct {
	Path string `yaml:"path"`
}

// Configured reports whether any target is set.
func (c *Config) Configured() bool { return c.SFTP != nil || c.Dir != nil }

// Validate fills defaults and checks values.
func (c *Config) Validate() error {
	if c.SCIM != nil {
		if err := c.SCIM.Validate(); err != nil {
			return err
		}
	}
	if c.SFTP != nil && c.Dir != nil {
		return fault.Key("dir", "set either target.sftp or target.dir, not both")
	}
	if d := c.Dir; d != nil && d.Path == "" {
		return fault.Key("dir.path", "required")
	}
	s := c.SFTP
	if s == nil {
		return nil
	}
	if s.Host == "" {
		return fault.Key("sftp.host", "required")
	}
	if s.User == "" {
		return fault.Key("sftp.user", "required")
	}
	if s.KnownHosts == "" {
		return fault.Key("sftp.known_hosts", "required: host keys are always checked (get the line with spendsync hostkey HOST)")
	}
	if s.Port == 0 {
		s.Port = 22
	}
	if s.Port < 1 || s.Port > 65535 {
		return fault.Key("sftp.port", "%d is not a TCP port", s.Port)
	}
	methods := 0
	for _, set := range []bool{s.KeyFile != "", s.PasswordEnv != "", s.PasswordFile != "", s.Agent} {
		if set {
			methods++
		}
	}
	if methods == 0 {
		return fault.Key("sftp.key_file", "set one of key_file, password_env, password_file or agent: true")
	}
	if s.PassphraseEnv != "" && s.KeyFile == "" {
		return fault.Key("sftp.passphrase_env", "only applies with key_file")
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	if s.Timeout < 0 {
		return fault.Key("sftp.timeout", "must not be negative")
	}
	if s.Retries == nil {
		three := 3
		s.Retries = &three
	}
	if *s.Retries < 0 {
		return fault.Key("sftp.retries", "must not be negative")
	}
	if s.Deadline == 0 {
		s.Deadline = DefaultDeadline
	}
	if s.Deadline < 0 {
		return fault.Key("sftp.deadline", "must not be negative")
	}
	if s.FileMode == "" {
		s.FileMode = DefaultFileMode
	}
	if m, err := strconv.ParseUint(s.FileMode, 8, 32); err != nil || m > 0o777 {
		return fault.Key("sftp.file_mode", "%s is not a file mode: give octal permission bits such as 0600 or 0640", show.Quote(s.FileMode))
	}
	if s.RemoteDir == "" {
		s.RemoteDir = "."
	}
	return nil
}
