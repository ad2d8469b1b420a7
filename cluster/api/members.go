package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

// MaxVoters is the number of voters past which members join as non-voters.
const MaxVoters = 5

func (s *Server) clusterInfo(w http.ResponseWriter, _ *http.Request) error {
	var info ClusterInfo
	s.view(func(st *fsm.State) { info.ID = st.Info.ID })
	_, info.Leader = s.cfg.Raft.Leader()
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (s *Server) localStatus() Status {
	st := s.cfg.Raft.Raft().Stats()
	u := func(k string) uint64 { n, _ := strconv.ParseUint(st[k], 10, 64); return n }
	out := Status{ID: s.cfg.Raft.ID(), State: st["state"], Term: u("term"), CommitIndex: u("commit_index"), AppliedIndex: s.cfg.Raft.AppliedIndex(), LastContact: st["last_contact"]}
	s.view(func(fs *fsm.State) { out.ClusterID = fs.Info.ID })
	_, out.LeaderID = s.cfg.Raft.Leader()
	switch {
	case out.LeaderID == "":
		out.Reason = "no leader known"
	case out.CommitIndex > out.AppliedIndex+1024:
		out.Reason = fmt.Sprintf("applying: %d entries behind", out.CommitIndex-out.AppliedIndex)
	default:
		out.Ready = true
	}
	return out
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, s.localStatus())
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) error {
	st := s.localStatus()
	code := http.StatusOK
	if !st.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
	return nil
}

// sanIP takes the IP of an IP:PORT (or bare IP) address.
func sanIP(field, a string) (net.IP, error) {
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		host = a
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil, errf(http.StatusBadRequest, field, "%q is not IP:PORT with a reachable IP", a)
	}
	return ip, nil
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) error {
	var req JoinRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := checkName("name", req.Name); err != nil {
		return err
	}
	if req.Token == "" {
		return errf(http.StatusBadRequest, "token", "missing; issue one with `vela members token`")
	}
	if s.cfg.CA == nil {
		return errf(http.StatusServiceUnavailable, "", "member %s holds no CA key; cannot sign", s.cfg.Raft.ID())
	}
	if len(req.IPs) > 16 {
		return errf(http.StatusBadRequest, "ips", "at most 16 addresses")
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, f := range []struct {
		field string
		addrs []string
	}{{"raft_addr", []string{req.RaftAddr}}, {"api_addr", []string{req.APIAddr}}, {"ips", req.IPs}} {
		for _, a := range f.addrs {
			if a == "" {
				continue
			}
			ip, err := sanIP(f.field, a)
			if err != nil {
				return err
			}
			ips = append(ips, ip)
		}
	}
	if _, err := pki.ParseCert([]byte(req.CSR)); err == nil {
		return errf(http.StatusBadRequest, "csr", "is a certificate; send a CERTIFICATE REQUEST")
	}
	// Consume the token through Raft first: single use holds across members.
	res, err := s.propose(r, fsm.TypeJoinTokenConsume, fsm.ConsumeJoinToken{Meta: s.meta(r), Hash: pki.HashToken(req.Token), By: req.Name, RetryWindow: fsm.JoinRetryWindow})
	if err != nil {
		return err
	}
	tok := res.Value.(fsm.JoinToken)
	if tok.Role == fsm.JoinMember && (req.RaftAddr == "" || req.APIAddr == "") {
		return errf(http.StatusBadRequest, "raft_addr", "a member join needs raft_addr and api_addr (the token is now used; issue another)")
	}
	cert, err := s.cfg.CA.SignCSR([]byte(req.CSR), req.Name, tok.Role, ips, []string{req.Name, "localhost"}, s.cfg.Now())
	if err != nil {
		return errf(http.StatusBadRequest, "csr", "%v (the token is now used; issue another)", err)
	}
	out := JoinResponse{Role: tok.Role, CACert: string(s.cfg.CA.CertPEM), Cert: string(cert)}
	s.view(func(st *fsm.State) { out.ClusterID = st.Info.ID })
	if tok.Role == fsm.JoinMember {
		out.CAKey = string(s.cfg.CA.KeyPEM)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	var req AddMemberRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if _, err := sanIP("raft_addr", req.RaftAddr); err != nil {
		return err
	}
	if _, err := sanIP("api_addr", req.APIAddr); err != nil {
		return err
	}
	id := principalFrom(r.Context()).Name
	servers, err := s.cfg.Raft.Servers()
	if err != nil {
		return err
	}
	voter := joinsAsVoter(servers, id)
	if err := s.cfg.Raft.AddMember(r.Context(), id, req.RaftAddr, voter); err != nil {
		return &apiError{Status: http.StatusServiceUnavailable, RetryAfter: 1, Msg: err.Error()}
	}
	if _, err := s.propose(r, fsm.TypeMemberUpsert, fsm.Upsert[fsm.Member]{Meta: s.meta(r), Object: fsm.Member{ID: id, RaftAddr: req.RaftAddr, APIAddr: req.APIAddr, Joined: s.cfg.Now().UTC()}}); err != nil {
		return err
	}
	role := "voter"
	if !voter {
		role = "nonvoter"
	}
	writeJSON(w, http.StatusOK, MemberStatus{ID: id, RaftAddr: req.RaftAddr, APIAddr: req.APIAddr, Role: role})
	return nil
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	servers, err := s.cfg.Raft.Servers()
	if err != nil {
		return err
	}
	var known map[string]fsm.Member
	s.view(func(st *fsm.State) { known = st.Members; known = copyMap(known) })
	_, leaderID := s.cfg.Raft.Leader()
	out := make([]MemberStatus, len(servers))
	var wg sync.WaitGroup
	for i, sv := range servers {
		m := MemberStatus{ID: string(sv.ID), RaftAddr: string(sv.Address), APIAddr: known[string(sv.ID)].APIAddr, Role: "voter", Leader: string(sv.ID) == leaderID}
		if sv.Suffrage != raft.Voter {
			m.Role = "nonvoter"
		}
		out[i] = m
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.memberStatus(r.Context(), m)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].State, out[i].LastContact, out[i].AppliedIndex = st.State, st.LastContact, st.AppliedIndex
		}()
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, out)
	return nil
}

func copyMap[T any](m map[string]T) map[string]T {
	out := make(map[string]T, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) memberStatus(ctx context.Context, m MemberStatus) (Status, error) {
	if m.ID == s.cfg.Raft.ID() {
		return s.localStatus(), nil
	}
	if m.APIAddr == "" {
		return Status{}, fmt.Errorf("no API address recorded")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+m.APIAddr+"/v1/status", nil)
	resp, err := s.client.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("unreachable: %v", err)
	}
	defer resp.Body.Close()
	var st Status
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status: HTTP %d", resp.StatusCode)
	}
	return st, json.NewDecoder(http.MaxBytesReader(nil, resp.Body, MaxBody)).Decode(&st)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	servers, err := s.cfg.Raft.Servers()
	if err != nil {
		return err
	}
	found := false
	for _, sv := range servers {
		found = found || string(sv.ID) == id
	}
	if !found {
		return errf(http.StatusNotFound, "id", "member %q is not in the Raft configuration; see `vela members ls`", id)
	}
	// Record the removal first, while this member surely still leads.
	if _, err := s.propose(r, fsm.TypeMemberDelete, fsm.Delete{Meta: s.meta(r), Key: id}); err != nil && !isStatus(err, http.StatusNotFound) {
		return err
	}
	if err := s.cfg.Raft.RemoveMember(r.Context(), id); err != nil {
		return &apiError{Status: http.StatusServiceUnavailable, RetryAfter: 1, Msg: err.Error()}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func isStatus(err error, code int) bool {
	ae, ok := err.(*apiError)
	return ok && ae.Status == code
}

// joinsAsVoter tells whether member id joins as a voter: while fewer than
// MaxVoters other voters exist (a member re-joining keeps its place).
func joinsAsVoter(servers []raft.Server, id string) bool {
	voters := 0
	for _, sv := range servers {
		if sv.Suffrage == raft.Voter && string(sv.ID) != id {
			voters++
		}
	}
	return voters < MaxVoters
}
