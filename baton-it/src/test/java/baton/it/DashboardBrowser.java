package baton.it;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven through Debian's chromedriver, both named by path, so that
 * Selenium Manager never looks for (or downloads) a browser or a driver. Its profile lives in a
 * folder of its own, removed on close; close also ends every chromedriver and chromium process
 * this JVM started that is still alive (only this JVM's descendants, by their path).
 */
final class DashboardBrowser implements AutoCloseable {
    static final String CHROMIUM = "/usr/bin/chromium";
    static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    static final int WIDTH = 1440;
    static final int HEIGHT = 1400;

    static {
        // Belt and braces: the service below names the driver; these keep any other path of Selenium's from fetching one.
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER);
        System.setProperty("SE_AVOID_BROWSER_DOWNLOAD", "true");
        System.setProperty("SE_AVOID_STATS", "true");
    }

    private final ChromeDriverService service;
    private final ChromeDriver driver;
    private final Path profile;

    private DashboardBrowser(ChromeDriverService service, ChromeDriver driver, Path profile) {
        this.service = service;
        this.driver = driver;
        this.profile = profile;
    }

    /** Starts a browser; {@code logDir} receives chromedriver's log. */
    static DashboardBrowser start(Path logDir) throws IOException {
        for (String f : List.of(CHROMIUM, CHROMEDRIVER)) {
            if (!Files.isExecutable(Path.of(f))) {
                throw new IllegalStateException(f + " is missing: scripts/install-test-deps installs Debian's chromium and chromium-driver");
            }
        }
        Files.createDirectories(logDir);
        Path profile = Files.createTempDirectory(logDir, "chromium-profile-");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort()
                .withLogFile(logDir.resolve("chromedriver.log").toFile())
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        // The node's certificate is its own, self-signed: accepted here, as an operator accepts it once.
        options.setAcceptInsecureCerts(true);
        options.addArguments("--headless=new", "--no-sandbox", "--ignore-certificate-errors", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=" + WIDTH + "," + HEIGHT, "--force-device-scale-factor=1", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check",
                // Nothing of Google's: no updates, no sync, no background fetches.
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-extensions", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                "--metrics-recording-only", "--no-pings", "--lang=en-US");
        ChromeDriver driver;
        try {
            driver = new ChromeDriver(service, options);
        } catch (RuntimeException e) {
            service.stop();
            killLeftovers();
            throw e;
        }
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
        return new DashboardBrowser(service, driver, profile);
    }

    WebDriver driver() {
        return driver;
    }

    void open(String url) {
        driver.get(url);
    }

    /** Waits up to {@code limit} until {@code condition} holds (a non-null, non-false value), polling every 100 ms. */
    <T> T await(Duration limit, String what, Function<WebDriver, T> condition) {
        WebDriverWait wait = new WebDriverWait(driver, limit, Duration.ofMillis(100));
        wait.withMessage(() -> what + "; the page says:\n" + text("body"));
        wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
        return wait.until(condition);
    }

    WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    /** The element's text, or "" when there is none. */
    String text(String css) {
        List<WebElement> e = all(css);
        return e.isEmpty() ? "" : e.getFirst().getText();
    }

    Object script(String js, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(js, args);
    }

    byte[] screenshot() {
        return ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } catch (RuntimeException e) {
            // The browser may be gone already; what is left is killed below.
        } finally {
            service.stop();
            killLeftovers();
            try (var files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                // A leftover profile folder in the build output harms nothing.
            }
        }
    }

    /** Ends the chromedriver and chromium processes among this JVM's descendants (and only those). */
    static void killLeftovers() {
        Set<String> ours = Set.of(CHROMEDRIVER, CHROMIUM, "/usr/lib/chromium/chromium", "/usr/lib/chromium/chrome_crashpad_handler");
        ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(ours::contains).orElse(false))
                .forEach(ProcessHandle::destroyForcibly);
    }
}
