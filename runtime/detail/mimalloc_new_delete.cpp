// Linked into rill's own executables when RILL_MIMALLOC_OVERRIDE is ON: every global operator
// new/delete of the program goes to mimalloc. Not part of the rill library, so applications
// choose for themselves.
#include <mimalloc-new-delete.h>
