package trace

import (
	"errors"
	"io"
)

// Source is a stream of records. Read fills rec with the next record and returns io.EOF after
// the last. An *InputError reports input that was skipped; the next Read goes on after it.
// Any other error is fatal. Reader, CSVReader, S3AccessLogReader, CloudTrailReader, File and
// the sources returned by Merge and Sorter all implement it.
type Source interface {
	Read(rec *Record) error
}

// Positioner is implemented by sources that can say where the record last read came from: the
// input's name and its 1-based line (0 if unknown). Every reader of this package, File, and
// the sources returned by Merge and InOrder implement it.
type Positioner interface {
	Position() (file string, line int64)
}

// Merge returns a Source that yields the records of srcs in time order, each of which must
// already be in time order: a record earlier than the one before it in the same source stops
// the merge with an *OrderError naming it (merging cannot put it in order; InOrder can, a
// little). Records with equal times come in the order of srcs, so merging is deterministic. It
// holds one record per source in memory. An *InputError from a source is passed on and that
// source is read again on the next call.
func Merge(srcs ...Source) Source {
	m := &merger{srcs: srcs, heads: make([]Record, len(srcs)), pos: make([]position, len(srcs)), pending: make([]int, 0, len(srcs)),
		prev: make([]Record, len(srcs)), prevPos: make([]position, len(srcs))}
	for i := range srcs {
		m.pending = append(m.pending, i)
	}
	return m
}

type merger struct {
	srcs    []Source
	heads   []Record   // the next record of each source in the heap
	pos     []position // where each head record came from
	last    position   // where the record last returned came from
	prev    []Record   // the record each source gave before its head (Time zero: none)
	prevPos []position
	heap    []int // indices of sources with a head record, a min-heap by (time, index)
	pending []int // sources to read a head record from before the next Read
	err     error
}

func (m *merger) Read(rec *Record) error {
	if m.err != nil {
		return m.err
	}
	for len(m.pending) > 0 {
		i := m.pending[len(m.pending)-1]
		err := m.srcs[i].Read(&m.heads[i])
		var ie *InputError
		switch {
		case err == nil:
			m.pending = m.pending[:len(m.pending)-1]
			m.pos[i] = positionOf(m.srcs[i])
			if p := &m.prev[i]; !p.Time.IsZero() && m.heads[i].Time.Before(p.Time) {
				m.err = &OrderError{File: m.pos[i].file, Line: m.pos[i].line, Time: m.heads[i].Time,
					Newest: p.Time, NewestFile: m.prevPos[i].file, NewestLine: m.prevPos[i].line}
				m.last = m.pos[i]
				return m.err
			}
			m.prev[i], m.prevPos[i] = m.heads[i], m.pos[i]
			m.push(i)
		case err == io.EOF:
			m.pending = m.pending[:len(m.pending)-1]
		case errors.As(err, &ie):
			m.last = positionOf(m.srcs[i])
			return err // read source i again next time
		default:
			m.err = err
			return err
		}
	}
	if len(m.heap) == 0 {
		return io.EOF
	}
	i := m.pop()
	*rec = m.heads[i]
	m.last = m.pos[i]
	m.pending = append(m.pending, i)
	return nil
}

// Position returns where the record (or input error) last returned came from.
func (m *merger) Position() (string, int64) { return m.last.file, m.last.line }

// position is where a record came from.
type position struct {
	file string
	line int64
}

// positionOf asks src where its last record came from.
func positionOf(src Source) position {
	if p, ok := src.(Positioner); ok {
		f, l := p.Position()
		return position{f, l}
	}
	return position{}
}

func (m *merger) less(a, b int) bool {
	ta, tb := m.heads[m.heap[a]].Time, m.heads[m.heap[b]].Time
	if ta.Equal(tb) {
		return m.heap[a] < m.heap[b]
	}
	return ta.Before(tb)
}

func (m *merger) push(i int) {
	m.heap = append(m.heap, i)
	for j := len(m.heap) - 1; j > 0; {
		parent := (j - 1) / 2
		if !m.less(j, parent) {
			break
		}
		m.heap[j], m.heap[parent] = m.heap[parent], m.heap[j]
		j = parent
	}
}

func (m *merger) pop() int {
	top := m.heap[0]
	last := len(m.heap) - 1
	m.heap[0] = m.heap[last]
	m.heap = m.heap[:last]
	for j := 0; ; {
		l, r, small := 2*j+1, 2*j+2, j
		if l < len(m.heap) && m.less(l, small) {
			small = l
		}
		if r < len(m.heap) && m.less(r, small) {
			small = r
		}
		if small == j {
			break
		}
		m.heap[j], m.heap[small] = m.heap[small], m.heap[j]
		j = small
	}
	return top
}
