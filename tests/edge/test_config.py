import pytest

from edge.config import ConfigError, load_config
from edge.settings import EdgeSettings

GOOD = """
[office]
code = "7471"
name = "BPS Kota Kendari"
timezone = "Asia/Makassar"

[printer]
connection = "usb"
usb_vendor = 0x0416
usb_product = 0x5011
"""


def write(tmp_path, text):
    path = tmp_path / "pst.toml"
    path.write_text(text)
    return path


def test_default_config_describes_the_kendari_office():
    config = load_config()
    assert config.office.code == "7400"
    assert config.office.timezone == "Asia/Makassar"
    assert config.services[0].prefix == "A"
    assert config.hours["sat"] is None and config.hours["mon"] is not None


def test_a_small_file_fills_the_rest_with_defaults(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.office.name == "BPS Kota Kendari"
    assert (config.printer.kind, config.printer.usb_vendor) == ("usb", 0x0416)
    assert config.queue.reset_at == "opening"


@pytest.mark.parametrize(
    "change, key",
    [
        (('code = "7471"', 'code = "74"'), "office.code"),
        (('timezone = "Asia/Makassar"', 'timezone = "Asia/Kendari"'), "office.timezone"),
        (("usb_vendor = 0x0416\n", ""), "printer.usb_vendor"),
        (('connection = "usb"', 'connection = "bluetooth"'), "printer.connection"),
        (('connection = "usb"', 'connection = "usb"\nport = "9100"'), "printer.port"),
        (('connection = "usb"', 'connection = "usb"\nprot = 9100'), "printer.prot"),
        (("[printer]", '[queue]\nreset_at = "8 pagi"\n[printer]'), "queue.reset_at"),
        (("[printer]", '[queue]\nbutton_service = "Z"\n[printer]'), "queue.button_service"),
        (("[printer]", '[queue]\nmin_press_interval_s = -1\n[printer]'), "queue.min_press_interval_s"),
        (("[printer]", '[hours]\nmon = "15:00-08:00"\n[printer]'), "hours.mon"),
        (("[printer]", '[hours]\ntue = "pagi"\n[printer]'), "hours.tue"),
        (("[printer]", '[pins]\nbutton = 40\n[printer]'), "pins.button"),
        (("[printer]", '[[services]]\ncode = "A"\nname = "x"\nprefix = "a"\n[printer]'), "services[0].prefix"),
        (("[printer]", '[[services]]\ncode="A"\nname="x"\nprefix="A"\n[[services]]\ncode="B"\nname="y"\nprefix="A"\n[printer]'), "services"),
        (("[office]", "colour = 1\n[office]"), "colour"),
    ],
)
def test_bad_config_names_the_key(tmp_path, change, key):
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert f": {key}:" in str(error.value)
    assert str(tmp_path / "pst.toml") in str(error.value)


def test_broken_toml_and_missing_file_are_reported_with_the_path(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[office\ncode = 1"))
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.toml")


def test_settings_come_from_the_environment_only(tmp_path):
    config = write(tmp_path, GOOD)
    settings = EdgeSettings.from_env({
        "PST_DATA_DIR": str(tmp_path), "PST_EDGE_PORT": "8080", "PST_EDGE_HARDWARE": "pi",
        "PST_EDGE_CONFIG": str(config), "PST_EDGE_PUBLIC_URL": "http://192.168.10.2:8080/",
    })
    assert settings.db_path == tmp_path / "edge.db"
    assert (settings.port, settings.hardware) == (8080, "pi")
    assert settings.public_url == "http://192.168.10.2:8080"
    assert settings.config.office.code == "7471"


@pytest.mark.parametrize("key, value", [("PST_EDGE_HARDWARE", "real"), ("PST_EDGE_PORT", "eighty")])
def test_bad_environment_names_the_variable(key, value):
    with pytest.raises(ConfigError, match=key):
        EdgeSettings.from_env({key: value})
