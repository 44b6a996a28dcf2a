package outfile

import (
	"os"
	"sync"
)

// pending holds the cleanup of every temporary file and staging directory not yet committed
// or aborted, by the *File or *Stage it belongs to.
var pending struct {
	sync.Mutex
	cleanup map[any]func()
}

func track(owner any, cleanup func()) {
	pending.Lock()
	defer pending.Unlock()
	if pending.cleanup == nil {
		pending.cleanup = map[any]func(){}
	}
	pending.cleanup[owner] = cleanup
}

func untrack(owner any) {
	pending.Lock()
	defer pending.Unlock()
	delete(pending.cleanup, owner)
}

// RemovePending removes every temporary file and staging directory of this process that is
// not yet committed or aborted, leaving the destinations as they were. A program calls it when
// it must exit before its command returned (a command that did not stop soon enough after an
// interrupt), so that no temporary output is left behind; the outputs being written are lost,
// the previous files kept. It is safe to call while other goroutines write.
func RemovePending() {
	pending.Lock()
	fns := make([]func(), 0, len(pending.cleanup))
	for owner, fn := range pending.cleanup {
		fns = append(fns, fn)
		delete(pending.cleanup, owner)
	}
	pending.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// removeFile is a temporary file's cleanup.
func removeFile(name string) func() { return func() { os.Remove(name) } }
