"""Configs from Python values: every setting is applied as the CLI's ``--set section.key=value``,
so the same schema checks it and a bad value raises ValueError with the CLI's message."""

import json
import os

from . import _wsdiff


def overrides(section, values):
    """``{"steps": 50}`` under section ``sampler`` -> ``["sampler.steps=50"]``.

    Keys may also be given in full (``{"sampler.steps": 50}``) or nested
    (``{"noise": {"family": "grf"}}`` under ``task``). Values are written as JSON, which YAML
    reads back as the same value.
    """
    if values is None:
        return []
    if isinstance(values, (list, tuple)):
        return [str(v) for v in values]
    if not isinstance(values, dict):
        raise ValueError(f"{section or 'settings'}: expected a dict of settings, got "
                         f"{type(values).__name__}")
    out = []
    for key, value in values.items():
        full = key if (not section or key.startswith(section + ".")) else f"{section}.{key}"
        if isinstance(value, dict):
            out.extend(overrides(full, value))
        else:
            out.append(f"{full}={json.dumps(value)}")
    return out


def resolve(config=None, settings=()):
    """A validated ``_wsdiff.Config`` from a YAML path, a Config, a dict of sections, or None
    (the defaults), with ``settings`` (a list of "key=value") applied."""
    settings = list(settings)
    if config is None:
        return _wsdiff.load_config("", settings)
    if isinstance(config, _wsdiff.Config):
        return _wsdiff.layer_config(config, "config", "", settings)
    if isinstance(config, (str, os.PathLike)):
        return _wsdiff.load_config(os.fspath(config), settings)
    if isinstance(config, dict):
        return _wsdiff.load_config("", overrides("", config) + settings)
    raise ValueError(f"config: expected a YAML path, a dict or a wsdiff Config, got "
                     f"{type(config).__name__}")


def as_dict(config):
    """The config as plain Python values (what ``wsdiff.Config.to_yaml`` spells)."""
    return json.loads(config.to_json())
