"""Open fleet report pages in headless Chromium (Debian's chromium + chromium-driver, through Selenium) and
check them as an operator would use them:

  - the page loads with no console message of level WARNING or SEVERE and no failed request;
  - every expected host has a row in the summary table and a detail section;
  - every summary link scrolls to that VM's detail section, and its "back to the fleet" link returns;
  - nothing is fetched from outside the file (no script, no external URL in the DOM).

  browser_check.py PAGE EXPECTED_HOSTS_JSON [--screenshot PNG] [PAGE EXPECTED_HOSTS_JSON ...]
  (EXPECTED_HOSTS_JSON: a JSON list of host names, or @file holding one)
Prints one line per check and "N passed, N failed" last; exit status 1 when anything failed.
"""
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PASSED = []
FAILED = []


def check(ok, what):
    (PASSED if ok else FAILED).append(what)
    print('%s %s' % ('ok  ' if ok else 'FAIL', what))
    return ok


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get('CHROMIUM', '/usr/bin/chromium')
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1280,900',
              '--allow-file-access-from-files'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL', 'performance': 'ALL'})
    service = Service(os.environ.get('CHROMEDRIVER', '/usr/bin/chromedriver'))
    return webdriver.Chrome(service=service, options=opts)


def in_view(drv, el):
    top = drv.execute_script('return arguments[0].getBoundingClientRect().top;', el)
    height = drv.execute_script('return window.innerHeight;')
    return -2 <= top < height - 20   # scrolled to (sub-pixel), or as far as the page's end allows


def page_checks(drv, path, hosts, screenshot=None):
    url = 'file://' + os.path.abspath(path)
    name = os.path.basename(path)
    drv.get(url)
    check(drv.execute_script('return document.readyState') == 'complete', '%s: loads' % name)
    logs = drv.get_log('browser')
    bad = [e for e in logs if e.get('level') in ('WARNING', 'SEVERE')]
    check(not bad, '%s: no console warnings or errors%s' % (name, (': %s' % bad[:3]) if bad else ''))
    # requests: only the file itself (performance log: Network.requestWillBeSent)
    urls = []
    for e in drv.get_log('performance'):
        msg = json.loads(e['message'])['message']
        if msg.get('method') == 'Network.requestWillBeSent':
            urls.append(msg['params']['request']['url'])
    foreign = [u for u in urls if not u.startswith('file://') and not u.startswith('data:')]
    check(not foreign, '%s: fetches nothing from outside (%d request(s): %s)' % (name, len(urls), foreign[:3] or 'file only'))
    check(not drv.find_elements(By.TAG_NAME, 'script'), '%s: no script element' % name)

    rows = drv.find_elements(By.CSS_SELECTOR, '#fleet tbody tr[data-host]')
    shown = [r.get_attribute('data-host') for r in rows]
    check(sorted(shown) == sorted(hosts), '%s: summary shows every VM (%d rows, expected %d)%s' % (
        name, len(shown), len(hosts), '' if sorted(shown) == sorted(hosts) else ': missing %s, extra %s' % (
            sorted(set(hosts) - set(shown)), sorted(set(shown) - set(hosts)))))
    sections = drv.find_elements(By.CSS_SELECTOR, 'section.vm')
    check(len(sections) == len(hosts), '%s: one detail section per VM (%d)' % (name, len(sections)))
    text = drv.find_element(By.TAG_NAME, 'body').text
    check(all(h in text for h in hosts), '%s: every host name is visible text' % name)
    if screenshot:
        drv.save_screenshot(screenshot)
        print('screenshot: %s' % screenshot)
    inv = drv.find_elements(By.CSS_SELECTOR, '#inventory-items tbody tr[data-kind]')
    if drv.find_elements(By.ID, 'inventory'):   # issue 17: what ADE touched in the subscription
        kinds = sorted(set(r.get_attribute('data-kind') for r in inv))
        check(len(inv) > 0 and all(r.is_displayed() for r in inv),
              '%s: inventory shows its %d item(s), kinds %s' % (name, len(inv), kinds))
        check(not drv.find_elements(By.CSS_SELECTOR, '#inventory-items i'), '%s: inventory text is escaped' % name)
    steps = drv.find_elements(By.XPATH, '//h3[text()="Steps over time"]')
    if steps:                                   # migrate / rebuild pages: each VM's steps on its timeline
        check(len(steps) == len(drv.find_elements(By.CSS_SELECTOR, 'section.vm svg.timeline')),
              '%s: %d VM step timeline(s)' % (name, len(steps)))

    links_ok, back_ok, n = 0, 0, 0
    for row in drv.find_elements(By.CSS_SELECTOR, '#fleet tbody tr[data-host]'):
        n += 1
        link = row.find_element(By.CSS_SELECTOR, 'td a')
        target = link.get_attribute('href').split('#', 1)[1]
        drv.execute_script('window.scrollTo(0, 0);')
        link.click()
        time.sleep(0.05)
        sec = drv.find_element(By.ID, target)
        if (drv.execute_script('return location.hash;') == '#' + target and in_view(drv, sec)
                and row.get_attribute('data-host') in sec.find_element(By.TAG_NAME, 'h2').text):
            links_ok += 1
        back = sec.find_element(By.CSS_SELECTOR, 'a[href="#summary"]')
        back.click()
        time.sleep(0.05)
        if drv.execute_script('return location.hash;') == '#summary' and in_view(drv, drv.find_element(By.ID, 'summary')):
            back_ok += 1
    check(n == len(hosts) and links_ok == n, '%s: summary -> detail links work (%d/%d)' % (name, links_ok, n))
    check(back_ok == n, '%s: detail -> summary links work (%d/%d)' % (name, back_ok, n))
    svgs = drv.find_elements(By.CSS_SELECTOR, 'svg.timeline')
    sized = [s for s in svgs if s.size['width'] > 100 and s.size['height'] > 5]
    check(len(sized) == len(svgs), '%s: %d timeline(s) drawn with a size' % (name, len(svgs)))
    if screenshot and svgs:   # a VM's detail with its timeline
        sec = drv.execute_script('return arguments[0].closest("section");', svgs[-1])
        drv.execute_script('arguments[0].scrollIntoView();', sec)
        detail = screenshot[:-4] + '-detail.png'
        drv.save_screenshot(detail)
        print('screenshot: %s' % detail)
    logs = drv.get_log('browser')
    check(not [e for e in logs if e.get('level') == 'SEVERE'], '%s: no console errors after clicking' % name)


def main(argv):
    args = list(argv)
    jobs = []
    while args:
        page, hosts = args.pop(0), args.pop(0)
        shot = None
        if args and args[0] == '--screenshot':
            args.pop(0)
            shot = args.pop(0)
        if hosts.startswith('@'):
            with open(hosts[1:]) as f:
                hosts = f.read()
        jobs.append((page, json.loads(hosts), shot))
    drv = browser()
    try:
        print('browser: %s %s' % (drv.capabilities.get('browserName'), drv.capabilities.get('browserVersion')))
        for page, hosts, shot in jobs:
            if check(os.path.isfile(page), '%s exists' % page):
                page_checks(drv, page, hosts, shot)
    finally:
        drv.quit()
    print('%d passed, %d failed' % (len(PASSED), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
