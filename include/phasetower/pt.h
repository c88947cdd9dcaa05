/* PhaseTower umbrella header: include this to get the whole public API. */
#ifndef PHASETOWER_PT_H
#define PHASETOWER_PT_H
#include "phasetower/core.h"
#include "phasetower/data.h"
#include "phasetower/metrics.h"
#include "phasetower/linalg.h"
#include "phasetower/readout.h"
#include "phasetower/optim.h"
#include "phasetower/solve.h"
#include "phasetower/checkpoint.h"
#include "phasetower/picture.h"
#include "phasetower/embed.h"
#include "phasetower/memory.h"
#include "phasetower/tower.h"
#include "phasetower/phasor.h"
#include "phasetower/field.h"
#include "phasetower/reservoir.h"
#include "phasetower/export.h"
#endif
