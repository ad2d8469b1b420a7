package authz

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func create(hc string) Request {
	return Request{RequestMethod: "POST", RequestURI: "/v1.41/containers/create?name=x",
		RequestBody: []byte(`{"Image":"busybox","HostConfig":` + hc + `}`)}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  Request
		want string // "" allowed, else part of the refusal
	}{
		{"plain run", create(`{}`), ""},
		{"get", Request{RequestMethod: "GET", RequestURI: "/v1.41/info"}, ""},
		{"privileged", create(`{"Privileged":true}`), "--privileged is not allowed"},
		{"default cap", create(`{"CapAdd":["NET_BIND_SERVICE","CAP_CHOWN"]}`), ""},
		{"sys_admin", create(`{"CapAdd":["SYS_ADMIN"]}`), "--cap-add SYS_ADMIN"},
		{"all caps", create(`{"CapAdd":["ALL"]}`), "--cap-add ALL"},
		{"host pid", create(`{"PidMode":"host"}`), "--pid=host"},
		{"host ipc", create(`{"IpcMode":"host"}`), "--ipc=host"},
		{"host net", create(`{"NetworkMode":"host"}`), "--network=host"},
		{"bridge net", create(`{"NetworkMode":"bridge"}`), ""},
		{"container pid", create(`{"PidMode":"container:abc"}`), ""},
		{"device", create(`{"Devices":[{"PathOnHost":"/dev/sda"}]}`), "--device"},
		{"bind root", create(`{"Binds":["/:/host"]}`), "bind mount of / is not allowed"},
		{"bind etc ro", create(`{"Binds":["/etc:/x:ro"]}`), "bind mount of /etc"},
		{"named volume", create(`{"Binds":["data:/data"]}`), ""},
		{"bind in data dir", create(`{"Binds":["/var/lib/docker/volumes/v/_data:/d"]}`), ""},
		{"bind escaping data dir", create(`{"Binds":["/var/lib/docker/../../etc:/d"]}`), "bind mount of"},
		{"mount bind", create(`{"Mounts":[{"Type":"bind","Source":"/proc"}]}`), "bind mount of /proc"},
		{"mount volume", create(`{"Mounts":[{"Type":"volume","Source":"v"}]}`), ""},
		{"seccomp unconfined", create(`{"SecurityOpt":["seccomp=unconfined"]}`), "--security-opt"},
		{"cgroup parent", create(`{"CgroupParent":"/"}`), "--cgroup-parent"},
		{"bad json", create(`{`), "cannot read"},
		{"privileged exec", Request{RequestMethod: "POST", RequestURI: "/v1.41/containers/abc/exec", RequestBody: []byte(`{"Privileged":true}`)}, "privileged exec"},
		{"plugin pull", Request{RequestMethod: "POST", RequestURI: "/v1.41/plugins/pull?remote=x"}, "plugins"},
		{"service bind", Request{RequestMethod: "POST", RequestURI: "/v1.41/services/create",
			RequestBody: []byte(`{"TaskTemplate":{"ContainerSpec":{"Mounts":[{"Type":"bind","Source":"/"}]}}}`)}, "bind mount of /"},
		{"volume bind opts", Request{RequestMethod: "POST", RequestURI: "/v1.41/volumes/create",
			RequestBody: []byte(`{"Name":"v","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/etc"}}`)}, "volume option"},
		{"volume nfs device", Request{RequestMethod: "POST", RequestURI: "/v1.41/volumes/create",
			RequestBody: []byte(`{"Name":"v","DriverOpts":{"type":"ext4","device":"/dev/sda1"}}`)}, "volume option"},
		{"volume tmpfs", Request{RequestMethod: "POST", RequestURI: "/v1.41/volumes/create",
			RequestBody: []byte(`{"Name":"v","DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"size=100m"}}`)}, ""},
		{"volume plain", Request{RequestMethod: "POST", RequestURI: "/v1.41/volumes/create", RequestBody: []byte(`{"Name":"v"}`)}, ""},
		{"mount with volume bind opts", create(`{"Mounts":[{"Type":"volume","Source":"v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]}`), "volume option"},
		{"unversioned", Request{RequestMethod: "POST", RequestURI: "/containers/create", RequestBody: []byte(`{"HostConfig":{"Privileged":true}}`)}, "--privileged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.req)
			if tc.want == "" {
				if !got.Allow {
					t.Errorf("refused: %s", got.Msg)
				}
				return
			}
			if got.Allow || !strings.Contains(got.Msg, tc.want) {
				t.Errorf("Decide = %+v, want refusal containing %q", got, tc.want)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler(slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	post := func(path string, body any) map[string]any {
		b, _ := json.Marshal(body)
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if diff := cmp.Diff(map[string]any{"Implements": []any{"authz"}}, post("/Plugin.Activate", nil)); diff != "" {
		t.Error(diff)
	}
	got := post("/AuthZPlugin.AuthZReq", create(`{"Privileged":true}`))
	if got["Allow"] != false || !strings.Contains(got["Msg"].(string), "--privileged") {
		t.Errorf("AuthZReq privileged = %v", got)
	}
	if got := post("/AuthZPlugin.AuthZRes", map[string]any{}); got["Allow"] != true {
		t.Errorf("AuthZRes = %v", got)
	}
}

func FuzzDecide(f *testing.F) {
	f.Add("POST", "/v1.41/containers/create", []byte(`{"HostConfig":{"Binds":["/:/h"]}}`))
	f.Add("POST", "/v1.41/services/create", []byte(`{"TaskTemplate":{}}`))
	f.Add("GET", "/info", []byte(nil))
	f.Fuzz(func(t *testing.T, method, uri string, body []byte) {
		r := Decide(Request{RequestMethod: method, RequestURI: uri, RequestBody: body})
		if !r.Allow && r.Msg == "" {
			t.Fatal("refusal without a message")
		}
		// A privileged create must never pass, whatever the URI spelling.
		if method == "POST" && strings.Contains(uri, "containers/create") && !strings.ContainsAny(uri, "?#") &&
			bytes.Contains(body, []byte(`"Privileged":true`)) && r.Allow {
			var b struct{ HostConfig struct{ Privileged bool } }
			if json.Unmarshal(body, &b) == nil && b.HostConfig.Privileged && Decide(Request{RequestMethod: "POST", RequestURI: "/containers/create", RequestBody: body}).Allow {
				t.Fatalf("privileged create allowed: %s", body)
			}
		}
	})
}
