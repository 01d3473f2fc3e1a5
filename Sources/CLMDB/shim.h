#ifndef HINDSIGHT_CLMDB_SHIM_H
#define HINDSIGHT_CLMDB_SHIM_H
#include <lmdb.h>
#endif
