// A long-lived validation helper for invoice-gateway: keeps the UBL XSD and the compiled official
// schematron stylesheets (Saxon-HE s9api) loaded and answers requests over stdin/stdout.
//
// Start:    java -cp Saxon-HE.jar:<classes> GatewayValidator xsd:<root>=<xsd> ... <profile>=<xslt>[,<xslt>...] ...
//           (one schema per root element: Invoice, CreditNote, CrossIndustryInvoice)
// Request:  one line "<id> <profile> <byteCount>\n" followed by exactly byteCount bytes of XML (UTF-8)
// Answer:   one line of JSON: {"id":"..","findings":[{"rule","severity","message","location","source"}],"micros":n}
// Stylesheets are compiled on first use of their profile; "READY" is printed when the XSD is loaded;
// "BUSY" every second while the schemas load or a stylesheet compiles (seconds on a loaded machine), so the supervisor
// tells a helper at work from one that stopped.

import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import javax.xml.XMLConstants;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.*;
import net.sf.saxon.s9api.*;
import org.xml.sax.*;

public class GatewayValidator {
  static final Processor processor = new Processor(false);
  static final Map<String, List<String>> profilePaths = new HashMap<>();
  static final Map<String, List<XsltExecutable>> compiled = new HashMap<>();
  static final Map<String, Schema> schemas = new HashMap<>();
  static XPathExecutable findingsPath;
  static PrintStream out;
  static volatile boolean busy = false;

  public static void main(String[] args) throws Exception {
    out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false, "UTF-8");
    Thread heartbeat = new Thread(() -> {
      for (;;) {
        try { Thread.sleep(1000); } catch (InterruptedException e) { return; }
        if (busy) synchronized (out) { out.println("BUSY"); out.flush(); }
      }
    });
    heartbeat.setDaemon(true);
    heartbeat.start();
    busy = true;
    SchemaFactory factory = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
    for (String arg : args) {
      String[] parts = arg.split("=", 2);
      if (parts[0].startsWith("xsd:")) schemas.put(parts[0].substring(4), factory.newSchema(new File(parts[1])));
      else profilePaths.put(parts[0], Arrays.asList(parts[1].split(",")));
    }
    busy = false;
    XPathCompiler xpath = processor.newXPathCompiler();
    xpath.declareNamespace("svrl", "http://purl.oclc.org/dsdl/svrl");
    findingsPath = xpath.compile("//(svrl:failed-assert|svrl:successful-report)");

    BufferedInputStream in = new BufferedInputStream(System.in, 1 << 16);
    synchronized (out) { out.println("READY"); out.flush(); }
    for (;;) {
      String header = readLine(in);
      if (header == null) return;
      if (header.isEmpty()) continue;
      String[] h = header.split(" ");
      byte[] xml = in.readNBytes(Integer.parseInt(h[2]));
      if (h[1].equals("_warmup")) { synchronized (out) { out.println("{\"id\":\"" + h[0] + "\",\"findings\":[]}"); out.flush(); } continue; }
      long started = System.nanoTime();
      StringBuilder json = new StringBuilder();
      json.append("{\"id\":").append(quote(h[0])).append(",\"findings\":[");
      List<String> findings = validate(h[1], xml);
      json.append(String.join(",", findings));
      json.append("],\"micros\":").append((System.nanoTime() - started) / 1000).append("}");
      synchronized (out) { out.println(json); out.flush(); }
    }
  }

  static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1 && b != '\n') line.write(b);
    if (b == -1 && line.size() == 0) return null;
    return line.toString(StandardCharsets.US_ASCII);
  }

  static List<XsltExecutable> stylesheets(String profile) throws SaxonApiException {
    List<XsltExecutable> list = compiled.get(profile);
    if (list == null) {
      List<String> paths = profilePaths.get(profile);
      if (paths == null) throw new IllegalArgumentException("unknown profile " + profile);
      list = new ArrayList<>();
      XsltCompiler compiler = processor.newXsltCompiler();
      busy = true;
      try {
        for (String path : paths) list.add(compiler.compile(new StreamSource(new File(path))));
      } finally {
        busy = false;
      }
      compiled.put(profile, list);
    }
    return list;
  }

  static String finding(String rule, String severity, String message, String location, String source) {
    return "{\"rule\":" + quote(rule) + ",\"severity\":" + quote(severity) + ",\"message\":" + quote(message)
        + ",\"location\":" + quote(location) + ",\"source\":" + quote(source) + "}";
  }

  static List<String> validate(String requested, byte[] xml) {
    List<String> findings = new ArrayList<>();
    // "<profile>:rules" runs the schematron only (the official unit tests are schema-less fragments)
    boolean rulesOnly = requested.endsWith(":rules");
    String profile = rulesOnly ? requested.substring(0, requested.length() - 6) : requested;
    XdmNode doc;
    try {
      DocumentBuilder builder = processor.newDocumentBuilder();
      doc = builder.build(new StreamSource(new ByteArrayInputStream(xml)));
    } catch (SaxonApiException e) {
      findings.add(finding("XML", "fatal", "not well-formed XML: " + e.getMessage(), "", "xsd"));
      return findings;
    }
    String root = "";
    for (XdmNode child : doc.children()) if (child.getNodeKind() == XdmNodeKind.ELEMENT) root = child.getNodeName().getLocalName();
    Schema schema = schemas.get(root);
    if (!rulesOnly && schema == null) {
      findings.add(finding("XSD", "fatal", "the root element " + root + " is neither a UBL Invoice or CreditNote nor a CII CrossIndustryInvoice (or its schema is not installed)", "", "xsd"));
      return findings;
    }
    if (!rulesOnly) try {
      Validator validator = schema.newValidator();
      try {
        validator.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      } catch (Exception notSupported) {
        // documents reach the helper only after the gateway refused any DOCTYPE
      }
      validator.setErrorHandler(new ErrorHandler() {
        public void warning(SAXParseException e) {}
        public void error(SAXParseException e) { findings.add(finding("XSD", "fatal", e.getMessage(), "line " + e.getLineNumber() + ", column " + e.getColumnNumber(), "xsd")); }
        public void fatalError(SAXParseException e) { error(e); }
      });
      validator.validate(new StreamSource(new ByteArrayInputStream(xml)));
    } catch (Exception e) {
      if (findings.isEmpty()) findings.add(finding("XSD", "fatal", String.valueOf(e.getMessage()), "", "xsd"));
    }
    if (!findings.isEmpty()) return findings; // XSD first: the rules assume a schema-valid document
    try {
      for (XsltExecutable exec : stylesheets(profile)) {
        try {
          Xslt30Transformer transformer = exec.load30();
          transformer.setGlobalContextItem(doc);
          XdmDestination result = new XdmDestination();
          transformer.applyTemplates(doc, result);
          XPathSelector selector = findingsPath.load();
          selector.setContextItem(result.getXdmNode());
          for (XdmItem item : selector) {
            XdmNode node = (XdmNode) item;
            String id = node.getAttributeValue(new QName("id"));
            String flag = node.getAttributeValue(new QName("flag"));
            String location = node.getAttributeValue(new QName("location"));
            String text = node.getStringValue().trim().replaceAll("\\s+", " ");
            String severity = flag == null || flag.equals("fatal") || flag.equals("error") ? "fatal" : "warning";
            findings.add(finding(id == null ? "" : id, severity, text, location == null ? "" : location, "schematron"));
          }
        } catch (SaxonApiException e) {
          // Some official stylesheets throw on some invalid documents (XPTY0004): that document is invalid.
          findings.add(finding("ENGINE", "fatal", "the rules could not be evaluated on this document: " + e.getMessage(), "", "engine"));
        }
      }
    } catch (Exception e) {
      findings.add(finding("ENGINE", "fatal", "stylesheets could not be loaded: " + e.getMessage(), "", "engine"));
    }
    return findings;
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
