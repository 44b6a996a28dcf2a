package server

// OCCRow is one database row under optimistic concurrency control, the server of Marc
// Brooker's "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015): a client reads the
// row's version, then writes conditionally on it; the write succeeds only if no other write
// happened in between. Contention on one row turns into failed writes, and the way clients
// back off decides how much work and time it takes for each of them to get one write in.
//
// The zero value is a row at version 0. It is not safe for concurrent use.
type OCCRow struct {
	version   uint64
	writes    uint64
	conflicts uint64
}

// Read returns the row's current version.
func (r *OCCRow) Read() uint64 { return r.version }

// Write applies a write conditioned on version: it succeeds, and the version advances, only
// if version is still current.
func (r *OCCRow) Write(version uint64) bool {
	r.writes++
	if version != r.version {
		r.conflicts++
		return false
	}
	r.version++
	return true
}

// Writes returns the number of writes attempted; Conflicts those that failed.
func (r *OCCRow) Writes() uint64    { return r.writes }
func (r *OCCRow) Conflicts() uint64 { return r.conflicts }
