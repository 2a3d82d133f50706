from stacks.program import build_platform, export_outputs, load_settings

export_outputs(build_platform(load_settings()))
