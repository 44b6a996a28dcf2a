package simulate

// Shared waits (Admission.Shared): the AWS SDK's adaptive mode puts every attempt that finds its
// client's bucket empty to sleep for (1-available)/fillRate, then lets it try again; attempts
// that sleep until the same instant wake together and race for the tokens, and the losers, who
// all see the same bucket, sleep the same time again. Asking every loser would cost a client
// with n sleepers n admissions per token. The engine instead keeps the attempts that sleep
// until the same instant in one sleep group: when the group wakes, its members are asked in a
// random order (goroutines racing for a mutex) until one is told to wait, and the rest of the
// group is moved, as it is, to the instant that one was told — O(1) per loser. A sleeping call
// whose deadline comes first leaves its group then (the SDK's sleep is cancelled by its
// context).

// sleepGroup is the calls of one process that sleep until the same instant.
type sleepGroup struct {
	at      int64
	proc    int32
	members []int32 // call ids; a call's sleepIdx is its index here
	// pending counts the wake events scheduled for the group: a group merged into another
	// keeps its id until its events have fired
	pending int32
	live    bool
}

type sleepKey struct {
	proc int32
	at   int64
}

// sleepGroups are an engine's sleep groups: indexed by id, found by (process, instant).
type sleepGroups struct {
	g     []sleepGroup
	free  []int32
	byKey map[sleepKey]int32
}

// sleepGroup returns the id of process proc's group sleeping until at, making one (with its wake
// event) if there is none.
func (e *engine) sleepGroup(proc int32, at int64) int32 {
	s := &e.sleeps
	k := sleepKey{proc, at}
	if gid, ok := s.byKey[k]; ok {
		return gid
	}
	if s.byKey == nil {
		s.byKey = map[sleepKey]int32{}
	}
	var gid int32
	if n := len(s.free); n > 0 {
		gid, s.free = s.free[n-1], s.free[:n-1]
	} else {
		s.g = append(s.g, sleepGroup{})
		gid = int32(len(s.g) - 1)
	}
	g := &s.g[gid]
	g.at, g.proc, g.live, g.members = at, proc, true, g.members[:0]
	g.pending++
	s.byKey[k] = gid
	e.heap.push(at, evWake, gid)
	return gid
}

// join adds call id to group gid.
func (e *engine) join(id, gid int32) {
	g := &e.sleeps.g[gid]
	c := &e.calls[id]
	c.sleep, c.sleepIdx = gid, int32(len(g.members))
	g.members = append(g.members, id)
}

// sleep puts call id to sleep until at (before its deadline), in its process's group for at.
func (e *engine) sleep(id int32, at int64) {
	c := &e.calls[id]
	e.join(id, e.sleepGroup(c.proc, at))
	if c.deadline > 0 {
		e.heap.push(c.deadline, evSleepDeadline, id)
	}
}

// leave removes call id from its sleep group.
func (e *engine) leave(id int32) {
	c := &e.calls[id]
	g := &e.sleeps.g[c.sleep]
	last := g.members[len(g.members)-1]
	g.members[c.sleepIdx] = last
	e.calls[last].sleepIdx = c.sleepIdx
	g.members = g.members[:len(g.members)-1]
	c.sleep = -1
}

// releaseSleep frees group gid once it is empty and no wake event refers to it.
func (e *engine) releaseSleep(gid int32) {
	s := &e.sleeps
	g := &s.g[gid]
	if g.live && len(g.members) == 0 {
		delete(s.byKey, sleepKey{g.proc, g.at})
		g.live = false
	}
	if !g.live && g.pending == 0 {
		s.free = append(s.free, gid)
	}
}

// wake wakes group gid's members in a random order, each asking its client for admission, until
// one is told to sleep again: then it and the rest of the group sleep until the same instant.
func (e *engine) wake(gid int32) {
	g := &e.sleeps.g[gid]
	g.pending--
	if !g.live || g.at != e.now {
		e.releaseSleep(gid) // merged into another group, or emptied by deadlines
		return
	}
	delete(e.sleeps.byKey, sleepKey{g.proc, g.at})
	p := &e.procs[g.proc]
	now := e.t(e.now)
	if e.wakeRng == nil {
		e.wakeRng = newRand(e.seed, streamWake, 0)
	}
	for len(g.members) > 0 {
		i := 0
		if n := len(g.members); n > 1 {
			i = e.wakeRng.IntN(n)
		}
		id := g.members[i]
		e.leave(id)
		c := &e.calls[id]
		a := p.client.Admit(now, &c.Call)
		if a.Wait > 0 && a.Shared && len(g.members) > 0 {
			e.resleep(gid, id, vadd(e.now, a.Wait))
			return
		}
		if !e.admission(id, p, a) {
			e.transmit(id)
		}
		g = &e.sleeps.g[gid] // admission may have grown the groups
	}
	g.live = false
	e.releaseSleep(gid)
}

// resleep puts call id, which its client told to sleep until at, and the rest of group gid
// (told nothing: they would hear the same) to sleep until at. Calls whose deadline comes first
// leave at their deadline events.
func (e *engine) resleep(gid, id int32, at int64) {
	c := &e.calls[id]
	if c.deadline > 0 && at >= c.deadline {
		// The client would sleep past the call's deadline: the call is cancelled then.
		e.procs[c.proc].client.Abandon(e.tOther(c.deadline), &c.Call)
		e.timeout(id)
	} else {
		e.join(id, gid)
		if c.deadline > 0 {
			e.heap.push(c.deadline, evSleepDeadline, id)
		}
	}
	s := &e.sleeps
	g := &s.g[gid]
	if len(g.members) == 0 {
		g.live = false
		e.releaseSleep(gid)
		return
	}
	k := sleepKey{g.proc, at}
	other, exists := s.byKey[k]
	if !exists {
		// Move the group, as it is, to at.
		g.at = at
		g.pending++
		s.byKey[k] = gid
		e.heap.push(at, evWake, gid)
		return
	}
	// Merge the smaller of the two groups into the larger one.
	big, small := other, gid
	if len(s.g[other].members) < len(g.members) {
		big, small = gid, other
		s.g[big].at = at
		s.g[big].pending++
		s.byKey[k] = big
		e.heap.push(at, evWake, big)
	}
	for _, m := range s.g[small].members {
		e.join(m, big)
	}
	s.g[small].members = s.g[small].members[:0]
	s.g[small].live = false
	e.releaseSleep(small)
}

// sleepDeadline ends call id at its deadline if it is still asleep then.
func (e *engine) sleepDeadline(id int32) {
	c := &e.calls[id]
	if c.sleep < 0 || c.deadline != e.now {
		return // woken and sent before its deadline (or the event is an older sleep's)
	}
	gid := c.sleep
	e.leave(id)
	e.procs[c.proc].client.Abandon(e.t(e.now), &c.Call)
	e.timeout(id)
	if g := &e.sleeps.g[gid]; len(g.members) == 0 {
		g.live = false
		delete(e.sleeps.byKey, sleepKey{g.proc, g.at})
		e.releaseSleep(gid)
	}
}
