#include "operators/linear_operator.hpp"
