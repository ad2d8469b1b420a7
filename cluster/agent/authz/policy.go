package authz

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// DataDir is the node's Docker data dir: the only place bind mounts may
// come from.
const DataDir = "/var/lib/docker"

// defaultCaps are the capabilities Docker grants a container by default;
// --cap-add of these is harmless, anything else is refused.
var defaultCaps = map[string]bool{"CHOWN": true, "DAC_OVERRIDE": true, "FSETID": true, "FOWNER": true,
	"MKNOD": true, "NET_RAW": true, "SETGID": true, "SETUID": true, "SETFCAP": true, "SETPCAP": true,
	"NET_BIND_SERVICE": true, "SYS_CHROOT": true, "KILL": true, "AUDIT_WRITE": true}

// Request is what dockerd sends the plugin (AuthZPlugin.AuthZReq).
type Request struct {
	User           string `json:"User,omitempty"`
	RequestMethod  string `json:"RequestMethod,omitempty"`
	RequestURI     string `json:"RequestUri,omitempty"`
	RequestBody    []byte `json:"RequestBody,omitempty"`
	RequestHeaders map[string]string
}

// Response is the plugin's answer.
type Response struct {
	Allow bool   `json:"Allow"`
	Msg   string `json:"Msg,omitempty"`
	Err   string `json:"Err,omitempty"`
}

type mount struct {
	Type          string `json:"Type"`
	Source        string `json:"Source"`
	VolumeOptions *struct {
		DriverConfig *struct {
			Name    string
			Options map[string]string
		}
	}
}

type hostConfig struct {
	Privileged        bool
	CapAdd            []string
	PidMode           string
	IpcMode           string
	NetworkMode       string
	UTSMode           string
	UsernsMode        string
	CgroupnsMode      string
	Devices           []json.RawMessage
	DeviceRequests    []json.RawMessage
	DeviceCgroupRules []string
	SecurityOpt       []string
	Binds             []string
	Mounts            []mount
	VolumeDriver      string
	Sysctls           map[string]string
	OomKillDisable    *bool
	CgroupParent      string
}

var versionRE = regexp.MustCompile(`^/v[0-9.]+/`)

// Decide applies the policy to one request.
func Decide(r Request) Response {
	uri := r.RequestURI
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	uri = versionRE.ReplaceAllString(path.Clean("/"+uri)+"/", "/")
	uri = strings.TrimSuffix(uri, "/")
	if r.RequestMethod != "POST" {
		return allow()
	}
	switch {
	case uri == "/containers/create":
		var body struct{ HostConfig hostConfig }
		if err := json.Unmarshal(r.RequestBody, &body); err != nil {
			return deny("cannot read the container create request: %v", err)
		}
		return checkHost(body.HostConfig)
	case strings.HasPrefix(uri, "/containers/") && strings.HasSuffix(uri, "/exec"):
		var body struct{ Privileged bool }
		if err := json.Unmarshal(r.RequestBody, &body); err != nil {
			return deny("cannot read the exec request: %v", err)
		}
		if body.Privileged {
			return deny("privileged exec is not allowed on Vela nodes")
		}
	case strings.HasPrefix(uri, "/containers/") && strings.HasSuffix(uri, "/update"):
		// resources only; privileges cannot change after create
	case uri == "/plugins/pull" || uri == "/plugins/create" || strings.HasSuffix(uri, "/upgrade") && strings.HasPrefix(uri, "/plugins/"):
		return deny("installing Docker plugins is not allowed on Vela nodes")
	case uri == "/services/create" || strings.HasPrefix(uri, "/services/") && strings.HasSuffix(uri, "/update"):
		return checkService(r.RequestBody)
	case uri == "/volumes/create":
		var v struct {
			Driver     string
			DriverOpts map[string]string
		}
		if err := json.Unmarshal(r.RequestBody, &v); err != nil {
			return deny("cannot read the volume create request: %v", err)
		}
		return checkVolume(v.Driver, v.DriverOpts)
	}
	return allow()
}

func checkHost(h hostConfig) Response {
	if h.Privileged {
		return deny("--privileged is not allowed on Vela nodes: it would give the container the whole node")
	}
	for _, c := range h.CapAdd {
		n := strings.TrimPrefix(strings.ToUpper(c), "CAP_")
		if !defaultCaps[n] {
			return deny("--cap-add %s is not allowed on Vela nodes (only Docker's default capabilities)", n)
		}
	}
	for flag, mode := range map[string]string{"--pid": h.PidMode, "--ipc": h.IpcMode, "--network": h.NetworkMode,
		"--uts": h.UTSMode, "--userns": h.UsernsMode, "--cgroupns": h.CgroupnsMode} {
		if mode == "host" {
			return deny("%s=host is not allowed on Vela nodes: containers do not share the node's namespaces", flag)
		}
	}
	if len(h.Devices) > 0 || len(h.DeviceRequests) > 0 || len(h.DeviceCgroupRules) > 0 {
		return deny("--device, --gpus and --device-cgroup-rule are not allowed on Vela nodes")
	}
	for _, o := range h.SecurityOpt {
		l := strings.ToLower(strings.ReplaceAll(o, "=", ":"))
		if strings.Contains(l, "unconfined") || strings.HasPrefix(l, "systempaths") || strings.HasPrefix(l, "label:disable") {
			return deny("--security-opt %s is not allowed on Vela nodes", o)
		}
	}
	if h.CgroupParent != "" {
		return deny("--cgroup-parent is not allowed on Vela nodes")
	}
	for _, b := range h.Binds {
		src := strings.SplitN(b, ":", 2)[0]
		if strings.HasPrefix(src, "/") && !inDataDir(src) {
			return deny("bind mount of %s is not allowed on Vela nodes: only named volumes (or paths under %s)", src, DataDir)
		}
	}
	for _, m := range h.Mounts {
		if m.Type == "bind" && !inDataDir(m.Source) {
			return deny("bind mount of %s is not allowed on Vela nodes: only named volumes (or paths under %s)", m.Source, DataDir)
		}
		if m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil {
			if r := checkVolume(m.VolumeOptions.DriverConfig.Name, m.VolumeOptions.DriverConfig.Options); !r.Allow {
				return r
			}
		}
	}
	if h.VolumeDriver != "" && h.VolumeDriver != "local" {
		return deny("volume driver %q is not allowed on Vela nodes", h.VolumeDriver)
	}
	return allow()
}

func checkService(body []byte) Response {
	var s struct {
		TaskTemplate struct {
			ContainerSpec struct {
				Mounts        []mount
				CapabilityAdd []string
				Privileges    *struct {
					Seccomp *struct{ Mode string }
				}
			}
		}
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return deny("cannot read the service request: %v", err)
	}
	cs := s.TaskTemplate.ContainerSpec
	h := hostConfig{CapAdd: cs.CapabilityAdd, Mounts: cs.Mounts}
	if cs.Privileges != nil && cs.Privileges.Seccomp != nil && cs.Privileges.Seccomp.Mode == "unconfined" {
		return deny("unconfined seccomp is not allowed on Vela nodes")
	}
	return checkHost(h)
}

// checkVolume refuses local volumes that are really mounts of something
// else (o=bind, device=/path, type=none...): a bind mount by another name.
func checkVolume(driver string, opts map[string]string) Response {
	if driver != "" && driver != "local" {
		return deny("volume driver %q is not allowed on Vela nodes", driver)
	}
	for k, v := range opts {
		switch strings.ToLower(k) {
		case "type", "o", "device":
			if v == "" || strings.ToLower(k) == "type" && strings.ToLower(v) == "tmpfs" {
				continue
			}
			if strings.ToLower(k) == "o" && !strings.Contains(strings.ToLower(v), "bind") && !strings.Contains(v, "/") {
				continue // e.g. size=100m for tmpfs
			}
			if strings.ToLower(k) == "device" && (inDataDir(v) || strings.ToLower(v) == "tmpfs") {
				continue
			}
			return deny("volume option %s=%s is not allowed on Vela nodes: volumes may not mount host paths or devices", k, v)
		}
	}
	return allow()
}

func inDataDir(p string) bool {
	c := path.Clean(p)
	return c == DataDir || strings.HasPrefix(c, DataDir+"/")
}

func allow() Response { return Response{Allow: true} }

func deny(format string, args ...any) Response {
	return Response{Allow: false, Msg: fmt.Sprintf(format, args...)}
}
