// Package outfile writes a command's output files so that a user's data is never lost:
//
//   - every file is written to a temporary file in its destination's directory and renamed
//     into place only when complete (Create, then Commit), so an interrupted or failed command
//     leaves the previous file, or none, never a partial one;
//   - a directory of outputs (a report with its plots, dashboards with their provisioning
//     files) is written into a hidden staging directory inside the destination and its files
//     renamed into place together at the end (NewStage, then Commit);
//   - a Guard holds a command's inputs and refuses any output that is one of them (the same
//     file, compared with os.SameFile, so symbolic links, hard links and different spellings
//     of a path are caught) or lies inside an input directory. Its refusals are *InputError,
//     which the CLI reports as usage errors.
//
// A rename within one directory is atomic on POSIX file systems: readers see the old file or
// the new one. Because the destination is replaced rather than truncated, even a reader that
// opened the old file before the rename (an input being overwritten through a path the Guard
// could not know, such as a redirected standard input) keeps reading the old data.
//
// Temporary names start with ".tollgate-" and are removed on Abort. A process killed with
// SIGKILL can leave one behind; it is never mistaken for an output.
//
// Files are created with mode 0644 (the temporary file's 0600 is widened at commit): outputs
// are reports, traces and configuration meant to be read by others.
package outfile
