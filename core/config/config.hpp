#pragma once

// Umbrella header for users of the config module (CLI, trainer, sampler).

#include "core/config/config_enums.hpp"
#include "core/config/config_error.hpp"
#include "core/config/config_keys.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_types.hpp"
#include "core/config/config_validation.hpp"
#include "core/config/config_writer.hpp"
