package emulator

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EC2 instance state codes and names.
const (
	ec2Pending      = 0
	ec2Running      = 16
	ec2ShuttingDown = 32
	ec2Terminated   = 48
)

var ec2StateNames = map[int]string{
	ec2Pending: "pending", ec2Running: "running", ec2ShuttingDown: "shutting-down", ec2Terminated: "terminated",
}

type ec2Tag struct{ Key, Value string }

type ec2Instance struct {
	id, reservationID, region string
	imageID, instanceType     string
	launchIndex, state        int
	launchTime                time.Time
	privateIP                 string
	tags                      []ec2Tag
}

// ec2Store holds the instances launched through the emulator, in launch order.
type ec2Store struct {
	mu    sync.Mutex
	byID  map[string]*ec2Instance
	order []*ec2Instance
}

func newEC2Store() *ec2Store { return &ec2Store{byID: map[string]*ec2Instance{}} }

// run launches count instances in one reservation. They are running from then on; the response
// to RunInstances shows them pending, as AWS does.
func (s *ec2Store) run(e *Emulator, region, imageID, instanceType string, count int, tags []ec2Tag) []*ec2Instance {
	now := e.now().UTC().Truncate(time.Second)
	resID := "r-" + e.hexID(17)
	out := make([]*ec2Instance, count)
	for i := range out {
		ip := e.hexID(4)
		n, _ := strconv.ParseUint(ip, 16, 16)
		out[i] = &ec2Instance{
			id: "i-" + e.hexID(17), reservationID: resID, region: region,
			imageID: imageID, instanceType: instanceType, launchIndex: i, state: ec2Running,
			launchTime: now, privateIP: "10.0." + strconv.Itoa(int(n>>8)) + "." + strconv.Itoa(int(n&0xff)),
			tags: append([]ec2Tag(nil), tags...),
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range out {
		s.byID[in.id] = in
		s.order = append(s.order, in)
	}
	return snapshot(out)
}

// hexID returns n lower-case hex digits from the seeded source (EC2 resource ID suffixes).
func (e *Emulator) hexID(n int) string {
	b := make([]byte, (n+1)/2)
	e.randomBytes(b)
	return hex.EncodeToString(b)[:n]
}

// snapshot copies instances so responses are built outside the lock.
func snapshot(ins []*ec2Instance) []*ec2Instance {
	out := make([]*ec2Instance, len(ins))
	for i, in := range ins {
		c := *in
		c.tags = append([]ec2Tag(nil), in.tags...)
		out[i] = &c
	}
	return out
}

// describe returns the instances in region that match ids (if any) and every filter, from
// index start, at most max (0: all), and the index of the next page (0: none). missing names
// an ID that does not exist.
func (s *ec2Store) describe(region string, ids []string, filters []ec2Filter, start, max int) (page []*ec2Instance, next int, missing string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var candidates []*ec2Instance
	if len(ids) > 0 {
		for _, id := range ids {
			in, ok := s.byID[id]
			if !ok || in.region != region {
				return nil, 0, id
			}
			candidates = append(candidates, in)
		}
	} else {
		candidates = s.order
	}
	var matched []*ec2Instance
	for _, in := range candidates {
		if in.region == region && matchesFilters(in, filters) {
			matched = append(matched, in)
		}
	}
	if start > len(matched) {
		start = len(matched)
	}
	matched = matched[start:]
	if max > 0 && len(matched) > max {
		return snapshot(matched[:max]), start + max, ""
	}
	return snapshot(matched), 0, ""
}

type ec2StateChange struct {
	id                string
	previous, current int
}

// terminate moves the instances to terminated; the response shows shutting-down, as AWS does.
func (s *ec2Store) terminate(region string, ids []string) ([]ec2StateChange, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if in, ok := s.byID[id]; !ok || in.region != region {
			return nil, id
		}
	}
	out := make([]ec2StateChange, 0, len(ids))
	for _, id := range ids {
		in := s.byID[id]
		c := ec2StateChange{id: id, previous: in.state, current: ec2ShuttingDown}
		if in.state == ec2Terminated {
			c.current = ec2Terminated
		}
		in.state = ec2Terminated
		out = append(out, c)
	}
	return out, ""
}

// tag adds or replaces tags on the instances among resources. IDs of other resource types are
// accepted and ignored; an unknown instance ID is reported and nothing is tagged.
func (s *ec2Store) tag(region string, resources []string, tags []ec2Tag) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range resources {
		if strings.HasPrefix(id, "i-") {
			if in, ok := s.byID[id]; !ok || in.region != region {
				return id
			}
		}
	}
	for _, id := range resources {
		in, ok := s.byID[id]
		if !ok {
			continue
		}
	next:
		for _, t := range tags {
			for i := range in.tags {
				if in.tags[i].Key == t.Key {
					in.tags[i].Value = t.Value
					continue next
				}
			}
			in.tags = append(in.tags, t)
		}
	}
	return ""
}

// ---- filters

var ec2FilterNames = map[string]bool{
	"instance-id": true, "instance-state-name": true, "instance-state-code": true, "instance-type": true,
	"image-id": true, "reservation-id": true, "availability-zone": true, "private-ip-address": true,
	"tag-key": true, "tag-value": true,
}

func isKnownEC2Filter(name string) bool {
	return ec2FilterNames[name] || strings.HasPrefix(name, "tag:") && len(name) > len("tag:")
}

func matchesFilters(in *ec2Instance, filters []ec2Filter) bool {
	for _, f := range filters {
		if !matchesFilter(in, f) {
			return false
		}
	}
	return true
}

func matchesFilter(in *ec2Instance, f ec2Filter) bool {
	var fields []string
	switch f.name {
	case "instance-id":
		fields = []string{in.id}
	case "instance-state-name":
		fields = []string{ec2StateNames[in.state]}
	case "instance-state-code":
		fields = []string{strconv.Itoa(in.state)}
	case "instance-type":
		fields = []string{in.instanceType}
	case "image-id":
		fields = []string{in.imageID}
	case "reservation-id":
		fields = []string{in.reservationID}
	case "availability-zone":
		fields = []string{in.region + "a"}
	case "private-ip-address":
		fields = []string{in.privateIP}
	case "tag-key":
		for _, t := range in.tags {
			fields = append(fields, t.Key)
		}
	case "tag-value":
		for _, t := range in.tags {
			fields = append(fields, t.Value)
		}
	default: // tag:Key
		key := strings.TrimPrefix(f.name, "tag:")
		for _, t := range in.tags {
			if t.Key == key {
				fields = append(fields, t.Value)
			}
		}
	}
	for _, v := range f.values {
		for _, field := range fields {
			if wildcardMatch(v, field) {
				return true
			}
		}
	}
	return false
}

// wildcardMatch matches s against an EC2 filter value: '*' matches any run of characters, '?'
// one character, and a backslash escapes the next character.
func wildcardMatch(pattern, s string) bool {
	// Iterative matcher with backtracking to the last '*'.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			c := pattern[p]
			switch {
			case c == '*':
				star, mark = p, i
				p++
				continue
			case c == '?':
				p++
				i++
				continue
			case c == '\\' && p+1 < len(pattern):
				if pattern[p+1] == s[i] {
					p += 2
					i++
					continue
				}
			case c == s[i]:
				p++
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		mark++
		p, i = star+1, mark
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// ---- pagination tokens

// encodeIndexToken and decodeIndexToken make the opaque NextToken of list operations.
func encodeIndexToken(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("tollgate:" + strconv.Itoa(n)))
}

func decodeIndexToken(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), "tollgate:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// ---- response shapes

type ec2InstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func stateXML(code int) ec2InstanceState {
	return ec2InstanceState{Code: code, Name: ec2StateNames[code]}
}

type ec2ReservationXML struct {
	ReservationID string           `xml:"reservationId"`
	OwnerID       string           `xml:"ownerId"`
	Instances     []ec2InstanceXML `xml:"instancesSet>item"`
}

type ec2InstanceXML struct {
	InstanceID     string           `xml:"instanceId"`
	ImageID        string           `xml:"imageId"`
	State          ec2InstanceState `xml:"instanceState"`
	PrivateDNSName string           `xml:"privateDnsName"`
	AmiLaunchIndex int              `xml:"amiLaunchIndex"`
	InstanceType   string           `xml:"instanceType"`
	LaunchTime     string           `xml:"launchTime"`
	Placement      ec2PlacementXML  `xml:"placement"`
	PrivateIP      string           `xml:"privateIpAddress"`
	Architecture   string           `xml:"architecture"`
	RootDeviceType string           `xml:"rootDeviceType"`
	Tags           []ec2TagXML      `xml:"tagSet>item"`
}

type ec2PlacementXML struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type ec2TagXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func instanceXML(in *ec2Instance) ec2InstanceXML {
	v := ec2InstanceXML{
		InstanceID: in.id, ImageID: in.imageID, State: stateXML(in.state),
		PrivateDNSName: "ip-" + strings.ReplaceAll(in.privateIP, ".", "-") + ".ec2.internal",
		AmiLaunchIndex: in.launchIndex, InstanceType: in.instanceType,
		LaunchTime: in.launchTime.Format("2006-01-02T15:04:05.000Z"),
		Placement:  ec2PlacementXML{AvailabilityZone: in.region + "a", Tenancy: "default"},
		PrivateIP:  in.privateIP, Architecture: "x86_64", RootDeviceType: "ebs",
	}
	for _, t := range in.tags {
		v.Tags = append(v.Tags, ec2TagXML(t))
	}
	return v
}

// reservationXML renders one reservation; state, if set, overrides every instance's state.
func reservationXML(ins []*ec2Instance, account string, state ec2InstanceState) ec2ReservationXML {
	r := ec2ReservationXML{OwnerID: account}
	if len(ins) > 0 {
		r.ReservationID = ins[0].reservationID
	}
	for _, in := range ins {
		x := instanceXML(in)
		if state.Name != "" {
			x.State = state
		}
		r.Instances = append(r.Instances, x)
	}
	return r
}

// groupReservations groups consecutive instances of the same reservation.
func groupReservations(ins []*ec2Instance, account string) []ec2ReservationXML {
	var out []ec2ReservationXML
	for i := 0; i < len(ins); {
		j := i + 1
		for j < len(ins) && ins[j].reservationID == ins[i].reservationID {
			j++
		}
		out = append(out, reservationXML(ins[i:j], account, ec2InstanceState{}))
		i = j
	}
	return out
}
