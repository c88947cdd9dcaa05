/* placeholder: implemented in a following commit */
#include "internal.h"
typedef int pt_placeholder_rls;
