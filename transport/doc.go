// Package transport delivers an export to the Spend Cloud import drop: over
// SFTP or into a (mounted) folder, always to a temporary name first and
// renamed into place once complete.
package transport
