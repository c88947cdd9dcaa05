/* PhaseTower umbrella header: include this to get the whole public API. */
#ifndef PHASETOWER_PT_H
#define PHASETOWER_PT_H
#include "phasetower/core.h"
#include "phasetower/data.h"
#include "phasetower/tower.h"
#include "phasetower/metrics.h"
#include "phasetower/memory.h"
#include "phasetower/quant.h"
#include "phasetower/phasor.h"
#endif
