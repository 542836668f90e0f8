package access

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The broad groups whose access to personal data (read) or to the config
// (write) spendsync warns about, as it warns about "others" on Unix.
var broad = []struct{ sid, name string }{
	{"S-1-1-0", "Everyone"},
	{"S-1-5-32-545", "Users"},
	{"S-1-5-11", "Authenticated Users"},
	{"S-1-5-32-546", "Guests"},
	{"S-1-5-7", "Anonymous Logon"},
}

// trusted may hold any access: SYSTEM and Administrators can read every
// file anyway (backup privilege), and OpenSSH for Windows accepts them.
var trusted = []string{"S-1-5-18", "S-1-5-32-544"}

const (
	readMask  = windows.FILE_READ_DATA | windows.GENERIC_READ | windows.GENERIC_ALL | windows.MAXIMUM_ALLOWED
	writeMask = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.GENERIC_WRITE | windows.GENERIC_ALL |
		windows.WRITE_DAC | windows.WRITE_OWNER | windows.MAXIMUM_ALLOWED
)

var user = sync.OnceValues(func() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("read the current user's SID: %w", err)
	}
	return tu.User.Sid.String(), nil
})

// PrivateAttributes is the security for a new file (or, with dir, a new
// folder, whose files inherit it) holding personal data: a protected DACL
// granting full control to the current user, SYSTEM and Administrators
// only, whatever the parent folder would pass on.
func PrivateAttributes(dir bool) (*windows.SecurityAttributes, error) {
	sid, err := user()
	if err != nil {
		return nil, err
	}
	inherit := ""
	if dir {
		inherit = "OICI"
	}
	sddl := fmt.Sprintf("D:P(A;%[1]s;FA;;;%[2]s)(A;%[1]s;FA;;;SY)(A;%[1]s;FA;;;BA)", inherit, sid)
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("build the private security descriptor: %w", err)
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return sa, nil
}

// Grant is one allow entry that applies to the file itself.
type Grant struct {
	SID, Name   string
	Read, Write bool
}

// Grants lists who the DACL of path lets read or write it, after the
// deny entries before each grant. A missing DACL lets everyone do all.
func Grants(path string) ([]Grant, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, fmt.Errorf("read the access list of %s: %w", path, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return []Grant{{SID: "S-1-1-0", Name: "Everyone", Read: true, Write: true}}, nil
	}
	denied := map[string]windows.ACCESS_MASK{}
	var out []Grant
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, fmt.Errorf("read the access list of %s: %w", path, err)
		}
		if ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue // for children only
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String()
		switch ace.Header.AceType {
		case windows.ACCESS_DENIED_ACE_TYPE:
			denied[sid] |= ace.Mask
		case windows.ACCESS_ALLOWED_ACE_TYPE:
			mask := ace.Mask &^ denied[sid]
			g := Grant{SID: sid, Name: name(sid), Read: mask&readMask != 0, Write: mask&writeMask != 0}
			if g.Read || g.Write {
				out = append(out, g)
			}
		}
	}
	return out, nil
}

// Broad lists the broad groups (Everyone, Users, Authenticated Users,
// Guests, Anonymous Logon) that may read path, or with write, change it,
// as "Users (read)" and the like.
func Broad(path string, write bool) ([]string, error) {
	grants, err := Grants(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range grants {
		for _, b := range broad {
			if g.SID == b.sid && (write && g.Write || !write && g.Read) {
				out = append(out, b.name+" ("+rights(g)+")")
			}
		}
	}
	return out, nil
}

// Others lists who besides the current user, SYSTEM and Administrators
// may read or change path, as "Everyone (read)": what OpenSSH for Windows
// refuses a private key for.
func Others(path string) ([]string, error) {
	grants, err := Grants(path)
	if err != nil {
		return nil, err
	}
	me, err := user()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range grants {
		if g.SID != me && !isTrusted(g.SID) {
			out = append(out, g.Name+" ("+rights(g)+")")
		}
	}
	return out, nil
}

// Fix is the icacls line that leaves path to the current user, SYSTEM and
// Administrators (inherited by a folder's files with dir).
func Fix(path string, dir bool) string {
	me, err := user()
	if err != nil {
		me = "%USERNAME%"
	} else {
		me = "*" + me
	}
	inherit := ""
	if dir {
		inherit = "(OI)(CI)"
	}
	return fmt.Sprintf(`icacls "%s" /inheritance:r /grant:r %[2]s:%[3]sF *S-1-5-18:%[3]sF *S-1-5-32-544:%[3]sF /remove:g *S-1-1-0 *S-1-5-32-545 *S-1-5-11`, path, me, inherit)
}

func rights(g Grant) string {
	switch {
	case g.Read && g.Write:
		return "read, write"
	case g.Write:
		return "write"
	}
	return "read"
}

func isTrusted(sid string) bool {
	for _, t := range trusted {
		if sid == t {
			return true
		}
	}
	return false
}

// name is DOMAIN\account for sid, or the SID itself when it has none.
func name(sid string) string {
	for _, b := range broad {
		if sid == b.sid {
			return b.name
		}
	}
	s, err := windows.StringToSid(sid)
	if err != nil {
		return sid
	}
	account, domain, _, err := s.LookupAccount("")
	switch {
	case err != nil || account == "":
		return sid
	case domain != "":
		return strings.TrimSpace(domain) + `\` + account
	}
	return account
}
