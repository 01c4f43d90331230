"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test fetches https://ci-files.testing.ansible.com/ansible-test/get-pip-<ver>.py, a host this
machine cannot reach. tests/ci/setup.sh copies this file to ~/.ansible/test/cache/get_pip_<ver>.py
(20_3_4 for Python 2.7 venvs, 21_3_1 for 3.6, 23_1_2 for core 2.16, 24_2 for core 2.19, 25_2 for core 2.21). ansible-test runs it as
__main__ with pip-install style arguments (for example `pip==23.1.2 setuptools wheel`).
"""
import subprocess
import sys

# get-pip.py options that pip itself rejects (core 2.19 passes them)
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
# ensurepip in a subprocess: in-process it sets PIP_CONFIG_FILE=/dev/null in os.environ, which drops
# the machine's pip config (its `cert` setting) and then every index request fails TLS verification.
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
